/**
 * The HTTP side of the WebDAV backend: URLs below the cache root, one request with credentials
 * and a stall timeout, network failures and HTTP statuses as `BackendError`s of the right scope,
 * and hrefs of listings mapped back to cache paths.
 *
 * Requests go through Deno's `fetch`, which keeps connections alive per host, so thousands of
 * small requests share a few connections (and TLS sessions), and which honours `DENO_CERT`,
 * `DENO_TLS_CA_STORE` and the proxy variables. Its one gap: a streamed body always goes out
 * chunked, without `Content-Length`. So a PUT streamed from a file (see webdav_body.ts) goes
 * through node:http(s) instead (`sendStream`), with `Content-Length`, on keep-alive agents of
 * its own, under the same watchdog and abort signal. node:https does not trust what `fetch`
 * trusts in every setting (Deno 2.9: `fetch` adds the certificates of `DENO_CERT` and
 * `NODE_EXTRA_CA_CERTS` to its store, node:https takes `DENO_CERT`'s only while
 * `NODE_EXTRA_CA_CERTS` is unset), so it is given `fetch`'s CAs: the stores `DENO_TLS_CA_STORE`
 * names and the certificates in both files. node:http knows no proxy
 * variables: where one applies, streamed PUTs stay with `fetch` (chunked).
 *
 * The npm `webdav` client is not used. Its `putFileContents` sends no `Content-Length` for a
 * stream body (its `contentLength` option is ignored for streams). It sends everything through
 * its own fetch layer (`@buttercup/fetch`, which is node-fetch outside browsers, so node:http(s)
 * under Deno, with the trust described above), and that follows redirects, while a redirect is
 * how Apache answers for a collection named without its slash. A deep `getDirectoryContents` is
 * one `Depth: infinity` PROPFIND, which Apache refuses by default, with no walk to fall back on
 * (webdav_list.ts walks in parallel, bounded). And its PROPFIND parsing is lossy (see
 * webdav_xml.ts).
 */
import http from "node:http";
import https from "node:https";
import { BackendError, checkPath } from "./backend.ts";
import { NODE_CONNECT_ERRORS, proxied, toResponse, trustedCas } from "./webdav_node.ts";
import { DEFAULT_STALL_TIMEOUT_MS, type StallListener, stallReporter } from "./stall.ts";

/** User name and password for HTTP Basic authentication. */
export interface Credentials {
  user: string;
  password: string;
}

/** Statuses worth another attempt: the server is busy, restarting, or lost the request. */
const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * Aborts a request when it makes no progress for `ms`: `kick` on every chunk sent or received.
 * Linked to the caller's signal, whose abort it passes on.
 */
export class Watchdog {
  readonly #ctl = new AbortController();
  readonly signal: AbortSignal;
  #timer: ReturnType<typeof setTimeout>;
  #timedOut = false;

  /** `onTimeout` is told when the request stalls, before it is aborted. */
  constructor(
    readonly ms: number,
    readonly caller?: AbortSignal,
    readonly onTimeout?: () => void,
  ) {
    this.signal = caller ? AbortSignal.any([caller, this.#ctl.signal]) : this.#ctl.signal;
    this.#timer = this.#arm();
  }

  #arm(): ReturnType<typeof setTimeout> {
    return setTimeout(() => {
      this.onTimeout?.();
      this.#timedOut = true;
      this.#ctl.abort(new DOMException("stalled", "TimeoutError"));
    }, this.ms);
  }

  /** Progress: restarts the timer. */
  kick(): void {
    clearTimeout(this.#timer);
    this.#timer = this.#arm();
  }

  /** Stops the timer while the caller, not the server, is busy; `kick` restarts it. */
  pause(): void {
    clearTimeout(this.#timer);
  }

  /** Whether this watchdog (not the caller) stopped the request. */
  get timedOut(): boolean {
    return this.#timedOut && !this.caller?.aborted;
  }

  [Symbol.dispose](): void {
    clearTimeout(this.#timer);
  }
}

/** What a request sends besides its method and URL. */
export interface RequestInit {
  headers?: Record<string, string>;
  body?: BodyInit | null;
}

/** A WebDAV collection root reached over HTTP(S). */
export class DavClient {
  /** The root URL, ending in `/`, without credentials. */
  readonly base: string;
  /** The root's path, decoded, split into segments (no empty ones). */
  readonly #baseSegments: string[];
  readonly #origin: string;
  readonly #auth?: string;
  readonly #onTimeout: () => void;
  /** Keep-alive agents of streamed PUTs (`sendStream`), made on first use. */
  #agents?: { http: http.Agent; https: https.Agent };

  constructor(
    base: URL,
    /** The location for messages (credentials redacted). */
    readonly display: string,
    credentials?: Credentials,
    readonly stallTimeoutMs = DEFAULT_STALL_TIMEOUT_MS,
    onStall?: StallListener,
  ) {
    const stalled = stallReporter(onStall, stallTimeoutMs);
    this.#onTimeout = () =>
      stalled(`${display}: no progress for ${stallTimeoutMs / 1000} s; trying again`);
    const path = base.pathname.endsWith("/") ? base.pathname : `${base.pathname}/`;
    this.#origin = base.origin;
    this.base = `${base.origin}${path}`;
    const segments = decodeSegments(path);
    if (!segments) throw new BackendError(`malformed path in ${display}`, "target");
    this.#baseSegments = segments;
    if (credentials) {
      const bytes = new TextEncoder().encode(`${credentials.user}:${credentials.password}`);
      this.#auth = `Basic ${btoa(String.fromCharCode(...bytes))}`;
    }
  }

  /** Whether requests carry credentials. */
  get authenticated(): boolean {
    return this.#auth !== undefined;
  }

  /** The URL of a cache-relative path ("" is the root); collections get a trailing slash. */
  url(path: string, collection = false): string {
    if (path === "") return this.base;
    const encoded = path.split("/").map(encodeURIComponent).join("/");
    return collection ? `${this.base}${encoded}/` : this.base + encoded;
  }

  /**
   * Sends one request. Network failures become BackendErrors: `target` when the server cannot be
   * reached at all (refused, unknown host, TLS), `transient` when a connection broke or stalled;
   * an abort of `signal` rejects with its reason. The status is left to the caller; the response
   * body must be read or cancelled.
   */
  async send(
    method: string,
    url: string,
    init: RequestInit,
    what: string,
    watch: Watchdog,
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.#auth) headers.Authorization = this.#auth;
    try {
      return await fetch(url, {
        method,
        headers,
        body: init.body,
        redirect: "manual",
        signal: watch.signal,
      });
    } catch (err) {
      throw this.failure(err, what, watch);
    }
  }

  /**
   * Sends a request whose body is a stream of exactly `length` bytes, with that
   * `Content-Length`: over node:http(s) on this client's keep-alive agents, unless a proxy
   * variable applies to `url` (then through `send`, chunked). `watch` stops it when it stalls,
   * and so does an abort of the caller's signal; a failure of `body` breaks the request off, so
   * the server never gets a whole body, and rejects with that failure. Failures and the result
   * are those of `send`; the response comes read to its end (its body is null).
   */
  async sendStream(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: ReadableStream<Uint8Array>,
    length: number,
    what: string,
    watch: Watchdog,
  ): Promise<Response> {
    const target = new URL(url);
    if (proxied(target)) return this.send(method, url, { headers, body }, what, watch);
    const secure = target.protocol === "https:";
    const all: Record<string, string> = { ...headers, "Content-Length": String(length) };
    if (this.#auth) all.Authorization = this.#auth;
    const ca = secure ? trustedCas() : undefined;
    this.#agents ??= {
      http: new http.Agent({ keepAlive: true }),
      https: new https.Agent({ keepAlive: true }),
    };
    const signal = watch.signal;
    if (signal.aborted) throw this.failure(signal.reason, what, watch, true);
    const reader = body.getReader();
    return await new Promise<Response>((resolve, reject) => {
      let settled = false;
      let sent = false;
      let answered = false;
      /** Resumes the body's copy after a full write buffer drained, or the request ended. */
      let wake: (() => void) | null = null;
      let socket: import("node:net").Socket | null = null;
      const req = (secure ? https : http).request({
        host: target.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: target.port || undefined,
        method,
        path: target.pathname + target.search,
        headers: all,
        agent: secure ? this.#agents!.https : this.#agents!.http,
        ca,
      }, (res) => {
        answered = true;
        watch.kick();
        res.on("data", () => watch.kick());
        res.once("error", failWith);
        res.once("end", () => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 599) {
            return fail(
              new BackendError(`${what}: HTTP ${status}`, "file", {
                code: String(status),
              }),
            );
          }
          settle();
          // A server may answer before it has the whole body (401, say): the rest is not sent.
          if (!sent) req.destroy();
          resolve(toResponse(status, res));
        });
      });
      const settle = () => {
        settled = true;
        signal.removeEventListener("abort", onAbort);
        socket?.off("close", onClose);
        reader.cancel().catch(() => {});
        wake?.();
      };
      function fail(err: unknown) {
        if (settled) return;
        settle();
        req.destroy();
        reject(err);
      }
      const failWith = (err: unknown) => fail(this.failure(err, what, watch, true));
      const onAbort = () => failWith(signal.reason);
      // node:http in Deno does not always report a kept-alive connection that the server
      // closes while the body is sent (no "error", the write never drains): the socket's close
      // is the sign. A response read before the close gets a moment to be handed over.
      const onClose = () => {
        if (answered) return;
        setTimeout(() => {
          if (!answered) {
            failWith(Object.assign(new Error("connection closed by the server"), {
              code: "ECONNRESET",
            }));
          }
        }, 50);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      req.on("error", failWith);
      req.on("drain", () => wake?.());
      req.on("close", onClose);
      req.on("socket", (s) => {
        if (settled) return;
        socket = s;
        s.once("close", onClose);
      });
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (settled) return;
          if (done) {
            sent = true;
            req.end();
            return;
          }
          if (!req.write(value)) {
            await new Promise<void>((resume) => (wake = resume));
            wake = null;
            if (settled) return;
          }
        }
      })().catch(failWith);
    });
  }

  /** Releases the connections `sendStream` keeps alive. */
  close(): void {
    this.#agents?.http.destroy();
    this.#agents?.https.destroy();
    this.#agents = undefined;
  }

  /** A PROPFIND of `url` with `Depth: depth` asking for the properties in `body`. */
  propfind(url: string, depth: string, body: string, what: string, watch: Watchdog) {
    const headers = { Depth: depth, "Content-Type": "application/xml; charset=utf-8" };
    return this.send("PROPFIND", url, { headers, body }, what, watch);
  }

  /** Reads a response body to the end, kicking `watch` on every chunk. */
  async readBody(res: Response, what: string, watch: Watchdog): Promise<Uint8Array> {
    if (!res.body) return new Uint8Array();
    const chunks: Uint8Array[] = [];
    let length = 0;
    try {
      for await (const chunk of res.body) {
        watch.kick();
        chunks.push(chunk);
        length += chunk.length;
      }
    } catch (err) {
      throw this.failure(err, what, watch);
    }
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(length);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  /** A watchdog for one request of this client. */
  watch(signal?: AbortSignal): Watchdog {
    return new Watchdog(this.stallTimeoutMs, signal, this.#onTimeout);
  }

  /**
   * The error to throw for a request that failed with `err` (also while reading its body);
   * `node`: a failure of node:http(s) rather than of `fetch`.
   */
  failure(err: unknown, what: string, watch: Watchdog, node = false): unknown {
    if (watch.caller?.aborted) return watch.caller.reason;
    if (err instanceof BackendError) return err;
    if (watch.timedOut) {
      return new BackendError(
        `${what}: no progress for ${watch.ms / 1000} s from ${this.#origin}`,
        "transient",
        { code: "ETIMEDOUT", cause: err },
      );
    }
    return node ? this.nodeNetworkError(err, what) : this.networkError(err, what);
  }

  /** A node:http(s) failure as a BackendError, scoped as `networkError` scopes fetch's. */
  nodeNetworkError(err: unknown, what: string): BackendError {
    const code = String((err as { code?: unknown })?.code ?? "");
    const message = err instanceof Error ? err.message : String(err);
    let reason: string | null = null;
    if (NODE_CONNECT_ERRORS[code] !== undefined) reason = NODE_CONNECT_ERRORS[code] || message;
    else if (/CERT|UNABLE_TO_|ERR_TLS_|ERR_SSL_/.test(code)) {
      reason = `${message} (for a private CA, set DENO_CERT=/path/ca.pem or ` +
        "DENO_TLS_CA_STORE=system)";
    }
    if (reason !== null) {
      return new BackendError(`cannot connect to ${this.display}: ${reason}`, "target", {
        cause: err,
        code: code || undefined,
      });
    }
    return new BackendError(`${what}: connection lost (${message})`, "transient", {
      cause: err,
      code: code || undefined,
    });
  }

  /** A fetch failure as a BackendError. */
  networkError(err: unknown, what: string): BackendError {
    const detail = String((err as { cause?: unknown })?.cause ?? err);
    const first = detail.split("\n")[0];
    // Connecting failed (refused, unknown host, TLS), or the TLS settings cannot be loaded.
    const connect = /\(Connect\):\s*(.*)$/.exec(first)?.[1] ??
      (/CA file|certificate/i.test(first) ? first.replace(/^Error:\s*/, "") : null);
    if (connect) {
      let reason = connect.replace(/^tcp connect error: /, "").replace(/ \(os error \d+\)$/, "");
      if (/certificate|tls|ssl/i.test(reason)) {
        reason += " (for a private CA, set DENO_CERT=/path/ca.pem or DENO_TLS_CA_STORE=system)";
      }
      return new BackendError(`cannot connect to ${this.display}: ${reason}`, "target", {
        cause: err,
      });
    }
    const at = first.lastIndexOf("): ");
    const reason = at >= 0 ? first.slice(at + 3) : "network error";
    return new BackendError(`${what}: connection lost (${reason})`, "transient", {
      cause: err,
    });
  }

  /**
   * The error for an unexpected status. 401/403/407 and 501/505 concern the whole target (bad
   * credentials, no permission, an unsupported method) and stop a run; busy or failing servers
   * are transient; anything else concerns the one file, 507 (Insufficient Storage) too: a quota
   * or a full disk refuses this file, while smaller ones, or space freed meanwhile, may still
   * fit.
   */
  statusError(res: Response, what: string): BackendError {
    const status = res.status;
    const code = String(status);
    const line = `HTTP ${status}${res.statusText ? ` ${res.statusText}` : ""}`;
    if (status === 401) {
      const scheme = res.headers.get("www-authenticate")?.split(/\s/)[0] ?? "";
      const hint = !this.#auth
        ? " (no credentials given: put them in the URL, in ~/.netrc or in " +
          "ISAR_SSTATE_WEBDAV_USER and ISAR_SSTATE_WEBDAV_PASSWORD)"
        : scheme && scheme.toLowerCase() !== "basic"
        ? ` (the server asks for ${scheme} authentication; only Basic is supported)`
        : "";
      return new BackendError(`authentication failed for ${this.display}${hint}`, "target", {
        code,
      });
    }
    if (status === 403 || status === 407) {
      return new BackendError(`access denied to ${this.display} (${line})`, "target", { code });
    }
    if (status === 507) {
      return new BackendError(`${what}: no space on ${this.display} (${line})`, "file", { code });
    }
    if (status === 501 || status === 505) {
      return new BackendError(`${what}: the server does not support it (${line})`, "target", {
        code,
      });
    }
    if (status >= 300 && status < 400) {
      const to = res.headers.get("location");
      return new BackendError(`${what}: redirected${to ? ` to ${to}` : ""} (${line})`, "file", {
        code,
      });
    }
    const scope = TRANSIENT_STATUS.has(status) || status >= 520 ? "transient" : "file";
    return new BackendError(`${what}: ${line}`, scope, { code });
  }

  /**
   * The cache path an href of a response to a request for `requestUrl` names: "" for the root,
   * a relative path below it, or null when it lies outside the root (another host, above the
   * root, or a name that could not be a cache path).
   */
  relative(href: string, requestUrl: string): string | null {
    let path: string;
    if (href.startsWith("/") && !href.startsWith("//")) path = href;
    else {
      let url: URL;
      try {
        url = new URL(href, requestUrl);
      } catch {
        return null;
      }
      if (url.origin !== this.#origin) return null;
      path = url.pathname;
    }
    const q = path.search(/[?#]/);
    if (q >= 0) path = path.slice(0, q);
    const segments = decodeSegments(path);
    const base = this.#baseSegments;
    if (!segments || segments.length < base.length) return null;
    for (let i = 0; i < base.length; i++) if (segments[i] !== base[i]) return null;
    if (segments.length === base.length) return "";
    const rel = segments.slice(base.length).join("/");
    try {
      return checkPath(rel);
    } catch {
      return null;
    }
  }
}

/**
 * The decoded, non-empty segments of a URL path; null when one cannot be decoded or would
 * contain a slash.
 */
function decodeSegments(path: string): string[] | null {
  const out: string[] = [];
  for (const raw of path.split("/")) {
    if (raw === "") continue;
    let seg: string;
    try {
      seg = raw.includes("%") ? decodeURIComponent(raw) : raw;
    } catch {
      return null;
    }
    if (seg.includes("/")) return null;
    out.push(seg);
  }
  return out;
}
