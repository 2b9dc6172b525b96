/**
 * The one HTTP transport of the remote backends (WebDAV, and S3 under the AWS SDK): node:http(s)
 * on keep-alive agents (one per way of reaching a server), through the proxy in force and trusting
 * the configured CAs (settings.ts), with aborts and stall detection. Why node:http rather than
 * `fetch`, and how stalls, aborts and lost connections are told: docs/http.md.
 */
import { Buffer } from "node:buffer";
import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import { withCaHint } from "./cas.ts";
import { ENVIRONMENT, type NetworkSettings } from "./settings.ts";
import type { Proxy } from "./proxy.ts";
import { proxyError, proxyRefused, TunnelAgent } from "./tunnel.ts";

/** One request. */
export interface HttpRequest {
  method: string;
  /** The server (scheme, host, port) and, unless `path` is given, the path and query. */
  url: URL;
  /** The request target as sent (path and query, escaped already); default: the URL's. */
  path?: string;
  /** Sent as they are: the caller sets `Content-Length` for a body. */
  headers: Record<string, string>;
  /** Bytes, text, or a stream (web or node) of exactly the length the headers give. */
  body?: Uint8Array | string | ReadableStream<Uint8Array> | Readable;
}

/** How a caller follows and stops one request. */
export interface RequestControl {
  /** Aborts the request (see the module's notes). */
  readonly signal?: AbortSignal;
  /** Told when the response head arrives (a watchdog's kick). */
  kick?(): void;
}

/** Limits and settings of a transport. */
export interface TransportOptions {
  /** Connections per server and way of reaching it (default: no limit). */
  maxSockets?: number;
  /** How long a proxy may take to answer a `CONNECT`, in ms. */
  tunnelTimeoutMs: number;
  /** A request whose socket sends and receives nothing for this long fails (ms; default: never). */
  idleTimeoutMs?: number;
  /** A new connection that does not open within this long fails (ms; default: never). */
  connectTimeoutMs?: number;
  /** Told when a request stalls or cannot connect in time, before it fails. */
  onStall?: (message: string) => void;
  /** After an abort, how long a changing request sent whole may take to answer (ms; default 0). */
  abortGraceMs?: number;
  /** Proxies and CAs (default: the environment's). */
  network?: NetworkSettings;
}

/** The failure of a request cut by its abort signal. */
export interface AbortedRequest extends Error {
  name: "AbortError";
  /** The server had the whole request when it was cut: it may still carry it out. */
  requestSent: boolean;
}

function aborted(signal: AbortSignal, requestSent: boolean): AbortedRequest {
  return Object.assign(new Error("Request aborted", { cause: signal.reason }), {
    name: "AbortError" as const,
    requestSent,
  });
}

/** Whether `err` is the abort of a request before the server had it whole. */
export function abortedBeforeSending(err: unknown): boolean {
  return (err as Partial<AbortedRequest>)?.requestSent === false;
}

function timeoutError(message: string): Error {
  return Object.assign(new Error(message), { name: "TimeoutError" });
}

function connectionLost(message: string): Error {
  return Object.assign(new Error(message), { code: "ECONNRESET" });
}

/** Requests over node:http(s) on keep-alive agents, directly or through the proxy in force. */
export class HttpTransport {
  readonly #agents = new Map<string, http.Agent>();
  readonly #network: NetworkSettings;

  constructor(readonly options: TransportOptions) {
    this.#network = options.network ?? ENVIRONMENT;
  }

  #agent(secure: boolean, proxy: Proxy | null): http.Agent {
    const key = `${secure ? "https" : "http"} ${proxy ? `${proxy.host}:${proxy.port}` : ""}`;
    let agent = this.#agents.get(key);
    if (!agent) {
      const { maxSockets, tunnelTimeoutMs } = this.options;
      agent = secure
        ? proxy
          ? new TunnelAgent(proxy, tunnelTimeoutMs, maxSockets)
          : new https.Agent({ keepAlive: true, maxSockets })
        : new http.Agent({ keepAlive: true, maxSockets });
      this.#agents.set(key, agent);
    }
    return agent;
  }

  /**
   * Sends one request; resolves with the response once its head arrives (its body streams and
   * must be read or destroyed). Rejects with the failure as node:http reports it (a certificate
   * no trusted CA vouches for with the CA settings read, see cas.ts), a BackendError for a proxy
   * that cannot be reached, a `TimeoutError` (idle or connect timeout) or an
   * `AbortedRequest`. A failure after the head destroys the response with that error. A stream
   * body that fails breaks the request off (the server never gets a whole body); a server that
   * answers before the whole body is sent gets no more of it.
   */
  send(r: HttpRequest, control: RequestControl = {}): Promise<http.IncomingMessage> {
    let proxy: Proxy | null;
    let options: https.RequestOptions;
    const secure = r.url.protocol === "https:";
    try {
      proxy = this.#network.proxyFor(r.url);
      options = this.#requestOptions(r, secure, proxy);
    } catch (err) {
      return Promise.reject(err);
    }
    const { signal } = control;
    if (signal?.aborted) return Promise.reject(aborted(signal, false));
    return new Promise((resolve, reject) => {
      const { idleTimeoutMs, connectTimeoutMs, onStall, abortGraceMs } = this.options;
      const { body } = r;
      let done = false;
      let sent = false;
      let response: http.IncomingMessage | null = null;
      let socket: Socket | null = null;
      /** Resumes the body's copy after a full write buffer drained, or the request ended. */
      let wake: (() => void) | null = null;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const reader = body instanceof ReadableStream ? body.getReader() : null;
      const finish = () => {
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        socket?.off("close", onClose);
        reader?.cancel().catch(() => {});
        wake?.();
      };
      const fail = (err: unknown) => {
        if (done) return;
        finish();
        req.destroy();
        const out = proxy && !secure
          ? proxyError(err, proxy, r.url.host)
          : withCaHint(err, () => this.#network.untrustedHint());
        if (response) response.destroy(out as Error);
        else reject(out);
      };
      const onAbort = () => {
        const changes = r.method !== "GET" && r.method !== "HEAD";
        if (!(changes && abortGraceMs && req.writableFinished)) {
          return fail(aborted(signal!, changes && req.writableFinished));
        }
        // The server has the whole request: wait a moment for its answer.
        clearTimeout(timer);
        timer = setTimeout(() => fail(aborted(signal!, true)), abortGraceMs);
      };
      // node:http in Deno does not always report a kept-alive connection that the server
      // closes while the body is sent (no "error", the write never drains): the socket's close
      // is the sign. A response read before the close gets a moment to be handed over.
      const onClose = () => {
        if (response) return;
        setTimeout(() => {
          if (!response) fail(connectionLost("connection closed by the server"));
        }, 50);
      };
      const req = (secure ? https : http).request(options, (res) => {
        if (proxy && !secure && res.statusCode === 407) {
          // The proxy's answer, not the server's: the proxy wants (other) credentials.
          res.resume();
          return fail(proxyRefused(res, proxy, `access to ${r.url.origin}`));
        }
        response = res;
        control.kick?.();
        // The consumer's listeners get every error; none goes unhandled meanwhile.
        res.on("error", () => {});
        res.once("error", fail);
        // A connection lost before the body's end (should it come without an error).
        res.once("close", () => {
          if (!res.complete) {
            setTimeout(() => fail(connectionLost("connection closed before the response's end")));
          }
        });
        res.once("end", () => {
          if (done) return;
          finish();
          // The server answered before it had the whole body (401, say): send no more of it.
          if (!sent) req.destroy();
        });
        resolve(res);
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      req.on("error", fail);
      req.on("drain", () => wake?.());
      req.on("close", onClose);
      req.on("socket", (s: Socket) => {
        if (done) return;
        socket = s;
        s.once("close", onClose);
        if (connectTimeoutMs === undefined || !s.connecting) return;
        timer = setTimeout(() => {
          onStall?.(`no connection within ${connectTimeoutMs / 1000} s`);
          fail(timeoutError(`no connection within ${connectTimeoutMs / 1000} s`));
        }, connectTimeoutMs);
        s.once("connect", () => clearTimeout(timer));
      });
      if (idleTimeoutMs !== undefined) {
        req.setTimeout(idleTimeoutMs, () => {
          onStall?.(`no answer for ${idleTimeoutMs / 1000} s`);
          fail(timeoutError(`no byte sent or received for ${idleTimeoutMs / 1000} s`));
        });
      }
      if (body instanceof Readable) {
        body.once("error", fail);
        body.once("end", () => (sent = true));
        body.pipe(req);
      } else if (reader) {
        (async () => {
          for (;;) {
            const { done: end, value } = await reader.read();
            if (done) return;
            if (end) {
              sent = true;
              req.end();
              return;
            }
            if (!req.write(value)) {
              await new Promise<void>((resume) => (wake = resume));
              wake = null;
              if (done) return;
            }
          }
        })().catch(fail);
      } else {
        sent = true;
        req.end(
          body instanceof Uint8Array
            ? Buffer.from(body.buffer, body.byteOffset, body.byteLength)
            : body,
        );
      }
    });
  }

  /** node:http's options for `r`: to the server, or to the proxy in absolute form. */
  #requestOptions(r: HttpRequest, secure: boolean, proxy: Proxy | null): https.RequestOptions {
    const { url } = r;
    const path = r.path ?? url.pathname + url.search;
    const headers = { ...r.headers };
    const options: https.RequestOptions = {
      host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: url.port || undefined,
      method: r.method,
      path,
      headers,
      agent: this.#agent(secure, proxy),
      ca: secure ? this.#network.trustedCas() : undefined,
    };
    if (proxy && !secure) {
      // Absolute form to the proxy, which connects on.
      Object.assign(options, { host: proxy.host, port: proxy.port, path: `${url.origin}${path}` });
      if (!Object.keys(headers).some((h) => h.toLowerCase() === "host")) headers.Host = url.host;
      if (proxy.authorization) headers["Proxy-Authorization"] = proxy.authorization;
    }
    return options;
  }

  /** Releases the connections kept alive. */
  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }
}
