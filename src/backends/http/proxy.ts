/**
 * The proxy variables, applied by the HTTP transport itself (node:http knows none):
 * `HTTPS_PROXY` for https URLs, `HTTP_PROXY` for http ones (either else `ALL_PROXY`; the
 * lower-case spellings first), and `NO_PROXY` to bypass them (no_proxy.ts).
 */
import { BackendError } from "../backend.ts";
import { redactUrl } from "../url.ts";
import { noProxyMatches } from "./no_proxy.ts";

/** A proxy that applies to a request. */
export interface Proxy {
  /** host and port to connect to. */
  host: string;
  port: number;
  /** The variable that named it, for messages (`HTTPS_PROXY`, `http_proxy`, …). */
  variable: string;
  /** The proxy's URL, credentials redacted. */
  display: string;
  /** `Proxy-Authorization` for credentials in its URL. */
  authorization?: string;
}

/**
 * The value of a proxy variable and the spelling it came from. The lower-case spelling comes
 * first, as for curl and the AWS CLI (Python's rules): one that is set but empty means none.
 */
function env(name: string): [string, string] | null {
  const lower = Deno.env.get(name.toLowerCase());
  if (lower !== undefined) return lower ? [name.toLowerCase(), lower] : null;
  const upper = Deno.env.get(name);
  return upper ? [name, upper] : null;
}

/**
 * The proxy for a request to `url`, or null for a direct connection. A proxy URL that cannot
 * be used (not http://, malformed) is an error naming its variable.
 */
export function proxyFor(url: URL): Proxy | null {
  const found = env(url.protocol === "https:" ? "HTTPS_PROXY" : "HTTP_PROXY") ??
    env("ALL_PROXY");
  if (!found || noProxyMatches(env("NO_PROXY")?.[1] ?? "", url)) return null;
  const [variable, value] = found;
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let proxy: URL;
  try {
    proxy = new URL(text);
  } catch {
    throw new BackendError(`${variable} is not a proxy URL: ${redactUrl(text)}`, "target");
  }
  const display = redactUrl(proxy.href);
  if (proxy.protocol !== "http:") {
    throw new BackendError(
      `${variable}=${display}: only http:// proxies are supported (for https URLs too)`,
      "target",
    );
  }
  let authorization: string | undefined;
  if (proxy.username) {
    const login = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
    const bytes = new TextEncoder().encode(login);
    authorization = `Basic ${btoa(String.fromCharCode(...bytes))}`;
  }
  return {
    host: proxy.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: Number(proxy.port || 80),
    variable,
    display,
    authorization,
  };
}
