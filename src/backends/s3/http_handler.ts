/**
 * The AWS SDK's request handler (`requestHandler` of the client config) on the shared transport
 * (http/transport.ts, docs/http.md): the S3 client's requests go over node:http(s) on keep-alive
 * agents, through the proxy in force and trusting the configured CAs, with one idle timer per
 * request and the call's abort signal. Its failures are the ones the SDK's retry strategy
 * recognises: network error codes from node:http, and a `TimeoutError` for a request that stalls.
 * After an abort, a request cut before its body was sent whole says so (`abortedBeforeSending`).
 */
import type http from "node:http";
import type { NetworkSettings } from "../http/settings.ts";
import { HttpTransport } from "../http/transport.ts";

/** The parts of the SDK's HttpRequest this handler reads. */
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

/** Limits of the handler. */
export interface HandlerOptions {
  /** Connections per host. */
  maxSockets: number;
  /** Milliseconds a new connection (or a proxy's tunnel) may take to open. */
  connectTimeout: number;
  /** Milliseconds a request may go without any traffic, from start to the end of its body. */
  idleTimeout: number;
  /** Milliseconds an aborted request whose body was sent may take to answer (default 0). */
  abortGrace?: number;
  /** Told when a request stalls or cannot connect in time (before it fails with a timeout). */
  onStall?: (message: string) => void;
  /** Proxies and CAs (default: the environment's). */
  network?: NetworkSettings;
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

/** The SDK's request handler on the shared transport. */
export class SdkHandler {
  readonly metadata = { handlerProtocol: "http/1.1" };
  readonly #transport: HttpTransport;

  constructor(readonly options: HandlerOptions) {
    this.#transport = new HttpTransport({
      maxSockets: options.maxSockets,
      tunnelTimeoutMs: options.connectTimeout,
      idleTimeoutMs: options.idleTimeout,
      connectTimeoutMs: options.connectTimeout,
      onStall: options.onStall,
      abortGraceMs: options.abortGrace,
      network: options.network,
    });
  }

  async handle(
    request: SdkRequest,
    { abortSignal }: { abortSignal?: AbortSignal } = {},
  ): Promise<{ response: SdkResponse }> {
    const query = queryString(request.query);
    const port = request.port ? `:${request.port}` : "";
    const { hostname } = request;
    const host = hostname.includes(":") && !hostname.startsWith("[") ? `[${hostname}]` : hostname;
    const res = await this.#transport.send({
      method: request.method,
      url: new URL(`${request.protocol}//${host}${port}`),
      path: query ? `${request.path}?${query}` : request.path,
      headers: request.headers,
      body: request.body as Parameters<HttpTransport["send"]>[0]["body"],
    }, { signal: abortSignal });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value;
    }
    return {
      response: { statusCode: res.statusCode ?? -1, reason: res.statusMessage, headers, body: res },
    };
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  destroy(): void {
    this.#transport.close();
  }
}
