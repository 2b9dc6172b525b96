/**
 * The proxy variables, applied by the HTTP transport itself (node:http knows none):
 * `HTTPS_PROXY` for https URLs, `HTTP_PROXY` for http ones (either else `ALL_PROXY`; the
 * lower-case spellings too), and `NO_PROXY` to bypass them.
 */
import { BackendError } from "../backend.ts";
import { redactUrl } from "../url.ts";

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

function env(name: string): [string, string] | null {
  for (const n of [name, name.toLowerCase()]) {
    const value = Deno.env.get(n);
    if (value) return [n, value];
  }
  return null;
}

/** Whether NO_PROXY exempts `url` (host names with their subdomains, `host:port`, `*`). */
function bypassed(url: URL): boolean {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  for (let entry of (env("NO_PROXY")?.[1] ?? "").toLowerCase().split(/[\s,]+/)) {
    if (entry === "*") return true;
    const m = /^(.*?)(?::(\d+))?$/.exec(entry.replace(/^\[(.*)\](:\d+)?$/, "$1$2"))!;
    if (m[2] && m[2] !== port) continue;
    entry = m[1].replace(/^\*?\./, "");
    if (entry && (host === entry || host.endsWith(`.${entry}`))) return true;
  }
  return false;
}

/**
 * The proxy for a request to `url`, or null for a direct connection. A proxy URL that cannot
 * be used (not http://, malformed) is an error naming its variable.
 */
export function proxyFor(url: URL): Proxy | null {
  const found = env(url.protocol === "https:" ? "HTTPS_PROXY" : "HTTP_PROXY") ??
    env("ALL_PROXY");
  if (!found || bypassed(url)) return null;
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
