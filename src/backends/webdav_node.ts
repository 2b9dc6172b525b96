/**
 * What a request over node:http(s) needs that `fetch` brings by itself: the CAs `fetch` trusts,
 * whether a proxy variable applies (node:http knows none), a `Response` made of the status and
 * headers, and the words `fetch` uses for connections that could not be made.
 */
import type http from "node:http";
import tls from "node:tls";
import { BackendError } from "./backend.ts";

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

/** A response from node:http's status and headers, without a body. */
export function toResponse(status: number, res: http.IncomingMessage): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      try {
        headers.append(name, v);
      } catch {
        // a header fetch would not take either
      }
    }
  }
  try {
    return new Response(null, { status, statusText: res.statusMessage ?? "", headers });
  } catch {
    return new Response(null, { status, headers }); // a reason phrase fetch would not take
  }
}

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

/**
 * Whether `fetch` may send a request for `url` through a proxy: a proxy variable for its
 * scheme (or ALL_PROXY) is set and NO_PROXY does not plainly exclude its host. When unsure,
 * true: such requests keep to `fetch`, which knows the rules.
 */
export function proxied(url: URL): boolean {
  const env = (name: string) => Deno.env.get(name) || Deno.env.get(name.toLowerCase()) || "";
  const proxy = url.protocol === "https:" ? env("HTTPS_PROXY") : env("HTTP_PROXY");
  if (!proxy && !env("ALL_PROXY")) return false;
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  for (let entry of env("NO_PROXY").toLowerCase().split(/[\s,]+/)) {
    if (entry === "*") return false;
    const m = /^(.*?)(?::(\d+))?$/.exec(entry.replace(/^\[(.*)\](:\d+)?$/, "$1$2"))!;
    if (m[2] && m[2] !== port) continue;
    entry = m[1].replace(/^\*?\./, "");
    if (entry && (host === entry || host.endsWith(`.${entry}`))) return false;
  }
  return true;
}
