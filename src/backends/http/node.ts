/**
 * What a request over node:http(s) needs that `fetch` brings by itself: the CAs `fetch` trusts,
 * and the words `fetch` uses for connections that could not be made.
 */
import tls from "node:tls";
import { BackendError } from "../backend.ts";

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

let cas: string[] | null = null;

/**
 * The CAs `fetch` trusts, for node:https: the stores `DENO_TLS_CA_STORE` names ("mozilla",
 * "system"; default "mozilla") and the certificates in the `DENO_CERT` and `NODE_EXTRA_CA_CERTS`
 * files. Read once.
 */
export function trustedCas(): string[] {
  if (cas) return cas;
  const out: string[] = [];
  const stores = Deno.env.get("DENO_TLS_CA_STORE") || "mozilla";
  for (const store of stores.split(",").map((s) => s.trim())) {
    if (store === "mozilla") out.push(...tls.rootCertificates);
    else if (store === "system") out.push(...tls.getCACertificates("system"));
  }
  for (const name of ["DENO_CERT", "NODE_EXTRA_CA_CERTS"]) {
    const file = Deno.env.get(name);
    if (!file) continue;
    let pem: string;
    try {
      pem = Deno.readTextFileSync(file);
    } catch (err) {
      throw new BackendError(`cannot read the CA file ${file} (${name}): ${err}`, "target");
    }
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g);
    out.push(...blocks ?? [pem]);
  }
  return (cas = out);
}
