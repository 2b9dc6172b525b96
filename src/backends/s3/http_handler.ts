/**
 * The S3 client's HTTP transport: node:http(s) requests on keep-alive agents, with one idle
 * timer per request and the call's abort signal. The SDK's own NodeHttpHandler arms up to five
 * timers and several promises per request, which costs more CPU than a small upload's body.
 * Its failures are the ones the SDK's retry strategy recognises: network error codes from
 * node:http, and a `TimeoutError` for a request that stalls.
 *
 * An abort cuts a request at once, except one that changes something (not GET or HEAD) whose
 * body the server has whole: it may be acting on it, so its answer is awaited for a moment
 * (`abortGrace`) and the caller learns the outcome. A request cut before its body was sent
 * whole fails with an `AbortError` that says so (`requestSent: false`): the server cannot have
 * acted on it. Any other failure after an abort may come from a request the server carries out.
 */
import { Buffer } from "node:buffer";
import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";

/** The parts of the SDK's HttpRequest this transport reads. */
export interface SdkRequest {
  protocol: string;
  hostname: string;
  port?: number;
  method: string;
  path: string;
  query?: Record<string, string | string[] | null | undefined>;
  headers: Record<string, string>;
  body?: unknown;
}

/** The SDK's HttpResponse shape: the body is the response stream. */
export interface SdkResponse {
  statusCode: number;
  reason?: string;
  headers: Record<string, string>;
  body: http.IncomingMessage;
}

/** Limits of the transport. */
export interface TransportOptions {
  /** Connections per host. */
  maxSockets: number;
  /** Milliseconds a new connection may take to open. */
  connectTimeout: number;
  /** Milliseconds a request may go without any traffic, from start to the end of its body. */
  idleTimeout: number;
  /** Milliseconds an aborted request whose body was sent may take to answer (default 0). */
  abortGrace?: number;
  /** Told when a request stalls or cannot connect in time (before it fails with a timeout). */
  onStall?: (message: string) => void;
}

/** The error of a request cut by its abort signal. */
export interface AbortedRequest extends Error {
  name: "AbortError";
  /** The server had the whole request when it was cut: it may still carry it out. */
  requestSent: boolean;
}

/** The query string of `query` as the SDK builds it: sorted, RFC 3986 escaped. */
export function queryString(query: SdkRequest["query"]): string {
  if (!query) return "";
  const parts: string[] = [];
  for (const key of Object.keys(query).sort()) {
    const value = query[key];
    const k = escapeUri(key);
    if (Array.isArray(value)) { for (const v of value) parts.push(`${k}=${escapeUri(v)}`); }
    else parts.push(typeof value === "string" ? `${k}=${escapeUri(value)}` : k);
  }
  return parts.join("&");
}

function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function timeoutError(message: string): Error {
  return Object.assign(new Error(message), { name: "TimeoutError" });
}

function abortError(signal: AbortSignal, requestSent = false): AbortedRequest {
  return Object.assign(new Error("Request aborted", { cause: signal.reason }), {
    name: "AbortError" as const,
    requestSent,
  });
}

/** Whether `err` is the abort of a request before the server had it whole. */
export function abortedBeforeSending(err: unknown): boolean {
  return (err as Partial<AbortedRequest>)?.requestSent === false;
}

/** An SDK request handler (`requestHandler` of the client config). */
export class S3Transport {
  readonly metadata = { handlerProtocol: "http/1.1" };
  #http: http.Agent;
  #https: https.Agent;

  constructor(readonly options: TransportOptions) {
    const agent = { keepAlive: true, maxSockets: options.maxSockets };
    this.#http = new http.Agent(agent);
    this.#https = new https.Agent(agent);
  }

  handle(
    request: SdkRequest,
    { abortSignal }: { abortSignal?: AbortSignal } = {},
  ): Promise<{ response: SdkResponse }> {
    return new Promise((resolve, reject) => {
      if (abortSignal?.aborted) return reject(abortError(abortSignal));
      const secure = request.protocol === "https:";
      const query = queryString(request.query);
      const host = request.hostname.replace(/^\[(.*)\]$/, "$1");
      const req = (secure ? https : http).request({
        host,
        port: request.port,
        method: request.method,
        path: query ? `${request.path}?${query}` : request.path,
        headers: request.headers,
        agent: secure ? this.#https : this.#http,
      }, (res) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value;
        }
        resolve({
          response: {
            statusCode: res.statusCode ?? -1,
            reason: res.statusMessage,
            headers,
            body: res,
          },
        });
      });
      // Settled here, not by an "error" event: a destroyed request does not always emit one.
      const fail = (err: Error) => {
        reject(err);
        req.destroy(err);
      };
      req.on("error", reject);
      const { idleTimeout, connectTimeout, onStall } = this.options;
      req.setTimeout(idleTimeout, () => {
        onStall?.(`no answer for ${idleTimeout / 1000} s`);
        fail(timeoutError(`no byte sent or received for ${idleTimeout / 1000} s`));
      });
      req.on("socket", (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(() => {
          onStall?.(`no connection within ${connectTimeout / 1000} s`);
          fail(timeoutError(`no connection within ${connectTimeout / 1000} s`));
        }, connectTimeout);
        socket.once("connect", () => clearTimeout(timer));
        socket.once("close", () => clearTimeout(timer));
      });
      if (abortSignal) {
        const grace = this.options.abortGrace ?? 0;
        const changes = request.method !== "GET" && request.method !== "HEAD";
        let graceTimer: ReturnType<typeof setTimeout> | undefined;
        const onAbort = () => {
          if (!(changes && grace > 0 && req.writableFinished)) return fail(abortError(abortSignal));
          // The server has the whole request: wait a moment for its answer.
          graceTimer = setTimeout(() => fail(abortError(abortSignal, true)), grace);
        };
        abortSignal.addEventListener("abort", onAbort, { once: true });
        req.once("close", () => {
          clearTimeout(graceTimer);
          abortSignal.removeEventListener("abort", onAbort);
        });
      }
      const body = request.body;
      if (body instanceof Readable) {
        body.once("error", fail);
        body.pipe(req);
      } else if (body instanceof Uint8Array) {
        req.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
      } else if (typeof body === "string") {
        req.end(body);
      } else {
        req.end();
      }
    });
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  destroy(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}
