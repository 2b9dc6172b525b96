/** The words `fetch` uses for connections over node:http(s) that could not be made. */

/**
 * node:http(s) error codes of a connection that could not be made, with the words `fetch` uses
 * for them ("": the error's own message).
 */
export const NODE_CONNECT_ERRORS: Record<string, string> = {
  ECONNREFUSED: "Connection refused",
  ENOTFOUND: "",
  EAI_AGAIN: "",
  EAI_NONAME: "",
  EHOSTUNREACH: "No route to host",
  ENETUNREACH: "Network is unreachable",
  EADDRNOTAVAIL: "",
};
