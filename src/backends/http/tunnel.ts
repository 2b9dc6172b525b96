/**
 * Requests through an http:// proxy: https ones in a `CONNECT` tunnel (kept alive like any
 * connection), so TLS stays end to end; and the one-line errors of a proxy that cannot be reached
 * or refuses.
 */
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { BackendError } from "../backend.ts";
import { NODE_CONNECT_ERRORS } from "./node.ts";
import type { Proxy } from "./proxy.ts";

/** A tunnel through an http proxy's `CONNECT` for https requests, kept alive like any socket. */
export class TunnelAgent extends https.Agent {
  /** `timeoutMs`: how long the proxy may take to answer the `CONNECT`. */
  constructor(readonly proxy: Proxy, readonly timeoutMs: number, maxSockets?: number) {
    super({ keepAlive: true, maxSockets });
  }

  /** Connects through the proxy; hands the TLS socket to `done` (node:http takes it so). */
  override createConnection(
    options: http.ClientRequestArgs & { servername?: string; ca?: string | string[] },
    done?: (err: Error | null, socket: Duplex) => void,
  ): Duplex {
    const { proxy } = this;
    const authority = `${options.host}:${options.port}`;
    const headers: Record<string, string> = { Host: authority };
    if (proxy.authorization) headers["Proxy-Authorization"] = proxy.authorization;
    const connect = http.request({
      host: proxy.host,
      port: proxy.port,
      method: "CONNECT",
      path: authority,
      headers,
      agent: false,
    });
    let finished = false;
    const finish = (err: unknown, socket?: Duplex) => {
      if (finished) return socket?.destroy();
      finished = true;
      done?.(err as Error | null, socket as Duplex);
    };
    connect.setTimeout(this.timeoutMs, () => connect.destroy(proxyTimeout(proxy)));
    connect.once("error", (err) => finish(proxyError(err, proxy, authority)));
    connect.once("connect", (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        return finish(proxyRefused(res, proxy, `a tunnel to ${authority}`));
      }
      const host = options.servername ?? options.host ?? "";
      const secure = tls.connect({
        socket,
        servername: isIP(host) ? undefined : host,
        ca: options.ca,
      });
      secure.once("secureConnect", () => finish(null, secure));
      secure.once("error", (err) => finish(err));
    });
    connect.end();
    return undefined as unknown as Duplex; // the socket comes through `done`
  }
}

function proxyTimeout(proxy: Proxy): Error {
  return Object.assign(new Error(`no answer from the proxy ${proxy.display}`), {
    code: "ETIMEDOUT",
  });
}

/**
 * A failure to reach the proxy itself (for a request to `to`): one line naming it and its
 * variable; any other failure as it is.
 */
export function proxyError(err: unknown, proxy: Proxy, to: string): unknown {
  const code = String((err as { code?: unknown })?.code ?? "");
  const words = NODE_CONNECT_ERRORS[code];
  if (words === undefined) return err;
  const reason = words || (err instanceof Error ? err.message : String(err));
  return new BackendError(
    `cannot connect to the proxy ${proxy.display} (${proxy.variable}) for ${to}: ${reason}`,
    "target",
    { cause: err, code, proxy: { url: proxy.display, variable: proxy.variable } },
  );
}

/**
 * A proxy's refusal of `what` (a tunnel, or access to a server; 407: it wants credentials): one
 * line naming the proxy and its variable.
 */
export function proxyRefused(res: http.IncomingMessage, proxy: Proxy, what: string): BackendError {
  const status = res.statusCode ?? 0;
  const line = `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ""}`;
  const hint = status === 407
    ? proxy.authorization ? ": it refused the credentials" : ": it wants credentials"
    : "";
  return new BackendError(
    `the proxy ${proxy.display} (${proxy.variable}) refused ${what} (${line})${hint}`,
    "target",
    {
      code: String(status),
      denied: status === 401 || status === 403 || status === 407,
      proxy: { url: proxy.display, variable: proxy.variable },
    },
  );
}
