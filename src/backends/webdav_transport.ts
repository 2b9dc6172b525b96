/**
 * Every request of the WebDAV backend goes over node:http(s), not `fetch`: `fetch` refuses the
 * WHATWG "bad ports" (6000, 10080, …) however real the server there, and sends a streamed body
 * only chunked, while a PUT streamed from a file should carry its `Content-Length`. Connections
 * are kept alive on agents of this transport (one per way of reaching the server); https trusts
 * what `fetch` would (see `trustedCas`). The proxy variables are applied here (webdav_proxy.ts):
 * an http URL is asked of the proxy in absolute form, an https one through a `CONNECT` tunnel,
 * so a streamed PUT keeps its length through a proxy too.
 */
import http from "node:http";
import https from "node:https";
import { isIP, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { BackendError } from "./backend.ts";
import { NODE_CONNECT_ERRORS, trustedCas } from "./webdav_node.ts";
import { type Proxy, proxyFor } from "./webdav_proxy.ts";

/** What a request reports progress to and is stopped by (the backend's watchdog). */
export interface Progress {
  readonly signal: AbortSignal;
  /** Progress was made: a chunk was sent or received. */
  kick(): void;
}

/** One request. */
export interface TransportRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** Bytes, or a stream of exactly `length` bytes; sent with that `Content-Length`. */
  body?: Uint8Array | ReadableStream<Uint8Array>;
  length?: number;
  /** What the request does, for messages ("cannot upload x"). */
  what: string;
}

/** Statuses whose responses have no body. */
const NO_BODY = new Set([101, 204, 205, 304]);

/** A tunnel through an http proxy's `CONNECT` for https requests, kept alive like any socket. */
class TunnelAgent extends https.Agent {
  constructor(readonly proxy: Proxy, readonly stallMs: number) {
    super({ keepAlive: true });
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
    connect.setTimeout(this.stallMs, () => connect.destroy(proxyTimeout(proxy)));
    connect.once("error", (err) => finish(proxyError(err, proxy, authority)));
    connect.once("connect", (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        return finish(tunnelRefused(res, proxy, authority));
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

/** A failure to reach the proxy itself: one line naming it and its variable. */
function proxyError(err: unknown, proxy: Proxy, to: string): unknown {
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

/** A proxy's refusal of a tunnel (407: it wants credentials). */
function tunnelRefused(res: http.IncomingMessage, proxy: Proxy, to: string): BackendError {
  const status = res.statusCode ?? 0;
  const line = `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ""}`;
  const hint = status === 407
    ? proxy.authorization ? ": it refused the credentials" : ": it wants credentials"
    : "";
  return new BackendError(
    `the proxy ${proxy.display} (${proxy.variable}) refused a tunnel to ${to} (${line})${hint}`,
    "target",
    {
      code: String(status),
      denied: status === 401 || status === 403 || status === 407,
      proxy: { url: proxy.display, variable: proxy.variable },
    },
  );
}

/** Requests over node:http(s) on keep-alive agents, directly or through the proxy in force. */
export class Transport {
  readonly #agents = new Map<string, http.Agent>();

  constructor(readonly stallMs: number) {}

  #agent(secure: boolean, proxy: Proxy | null): http.Agent {
    const key = `${secure ? "https" : "http"} ${proxy ? `${proxy.host}:${proxy.port}` : ""}`;
    let agent = this.#agents.get(key);
    if (!agent) {
      agent = secure
        ? proxy ? new TunnelAgent(proxy, this.stallMs) : new https.Agent({ keepAlive: true })
        : new http.Agent({ keepAlive: true });
      this.#agents.set(key, agent!);
    }
    return agent!;
  }

  /**
   * Sends one request; resolves with the response once its head arrives (its body streams and
   * must be read or cancelled). Rejects with the failure as node:http reports it, or a
   * BackendError for a proxy that cannot be reached; when `progress.signal` aborts, with its
   * reason. A stream body that fails breaks the request off (the server never gets a whole
   * body); a server that answers before the whole body is sent gets no more of it.
   */
  request(r: TransportRequest, progress: Progress): Promise<Response> {
    const { url, body } = r;
    const secure = url.protocol === "https:";
    const proxy = proxyFor(url);
    const headers: Record<string, string> = { ...r.headers };
    if (body instanceof Uint8Array) headers["Content-Length"] = String(body.length);
    else if (body) headers["Content-Length"] = String(r.length ?? 0);
    else if (r.method !== "GET") headers["Content-Length"] = "0";
    const options: https.RequestOptions = {
      host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: url.port || undefined,
      method: r.method,
      path: url.pathname + url.search,
      headers,
      agent: this.#agent(secure, proxy),
      ca: secure ? trustedCas() : undefined,
    };
    if (proxy && !secure) {
      // Absolute form to the proxy, which connects on.
      Object.assign(options, { host: proxy.host, port: proxy.port, path: url.href });
      headers.Host = url.host;
      if (proxy.authorization) headers["Proxy-Authorization"] = proxy.authorization;
    }
    const signal = progress.signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<Response>((resolve, reject) => {
      let finished = false;
      let resolved = false;
      let sent = false;
      let answered = false;
      let bodyOut: ReadableStreamDefaultController<Uint8Array> | null = null;
      let response: http.IncomingMessage | null = null;
      /** Resumes the body's copy after a full write buffer drained, or the request ended. */
      let wake: (() => void) | null = null;
      let socket: Socket | null = null;
      const reader = body instanceof ReadableStream ? body.getReader() : null;
      const finish = () => {
        finished = true;
        signal.removeEventListener("abort", onAbort);
        socket?.off("close", onClose);
        reader?.cancel().catch(() => {});
        wake?.();
      };
      const fail = (err: unknown) => {
        if (finished) return;
        finish();
        req.destroy();
        response?.destroy();
        const out = proxy && !secure ? proxyError(err, proxy, url.host) : err;
        if (!resolved) reject(out);
        else bodyOut?.error(out);
      };
      const onAbort = () => fail(signal.reason);
      // node:http in Deno does not always report a kept-alive connection that the server
      // closes while the body is sent (no "error", the write never drains): the socket's close
      // is the sign. A response read before the close gets a moment to be handed over.
      const onClose = () => {
        if (answered) return;
        setTimeout(() => {
          if (!answered) {
            fail(Object.assign(new Error("connection closed by the server"), {
              code: "ECONNRESET",
            }));
          }
        }, 50);
      };
      const req = (secure ? https : http).request(options, (res) => {
        answered = true;
        response = res;
        progress.kick();
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 599) {
          return fail(
            new BackendError(`${r.what}: HTTP ${status}`, "file", {
              code: String(status),
            }),
          );
        }
        let cancelled = false;
        res.once("error", fail);
        // A connection lost before the body's end (should it come without an error).
        res.once("close", () => {
          if (res.complete) return;
          setTimeout(() => {
            fail(Object.assign(new Error("connection closed before the response's end"), {
              code: "ECONNRESET",
            }));
          }, 0);
        });
        res.once("end", () => {
          if (finished) return;
          finish();
          // The server answered before it had the whole body (401, say): send no more of it.
          if (!sent) req.destroy();
          if (!cancelled) bodyOut?.close();
        });
        const stream = NO_BODY.has(status) ? null : new ReadableStream<Uint8Array>({
          start(ctl) {
            bodyOut = ctl;
            res.on("data", (chunk: Uint8Array) => {
              if (cancelled) return;
              progress.kick();
              // A plain Uint8Array, as fetch gives (not node's Buffer).
              ctl.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
              if ((ctl.desiredSize ?? 0) <= 0) res.pause();
            });
          },
          pull() {
            res.resume();
          },
          cancel() {
            // Read to its end, so the connection can be used again.
            cancelled = true;
            res.resume();
          },
        });
        if (!stream) res.resume();
        resolved = true;
        resolve(toResponse(status, res, stream));
      });
      signal.addEventListener("abort", onAbort, { once: true });
      req.on("error", fail);
      req.on("drain", () => wake?.());
      req.on("close", onClose);
      req.on("socket", (s: Socket) => {
        if (finished) return;
        socket = s;
        s.once("close", onClose);
      });
      if (!reader) {
        sent = true;
        req.end(body);
        return;
      }
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (finished) return;
          if (done) {
            sent = true;
            req.end();
            return;
          }
          if (!req.write(value)) {
            await new Promise<void>((resume) => (wake = resume));
            wake = null;
            if (finished) return;
          }
        }
      })().catch(fail);
    });
  }

  /** Releases the connections kept alive. */
  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }
}

/** A `Response` of node:http's status, headers and body. */
function toResponse(
  status: number,
  res: http.IncomingMessage,
  body: ReadableStream<Uint8Array> | null,
): Response {
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
    return new Response(body, { status, statusText: res.statusMessage ?? "", headers });
  } catch {
    return new Response(body, { status, headers }); // a reason phrase fetch would not take
  }
}
