/**
 * The HTTP side of the WebDAV backend: URLs below the cache root, one request with credentials
 * and a stall timeout, network failures and HTTP statuses as `BackendError`s of the right scope,
 * and hrefs of listings mapped back to cache paths. Requests go over the shared transport (see
 * http/transport.ts), on kept-alive connections, so thousands of small requests share a few (and
 * their TLS sessions). Why not the npm `webdav` client: docs/webdav.md.
 */
import { BackendError, checkPath } from "../backend.ts";
import { isTlsFailure } from "../http/cas.ts";
import { NODE_CONNECT_ERRORS } from "../http/node.ts";
import { toResponse } from "../http/response.ts";
import { ENVIRONMENT } from "../http/settings.ts";
import { DEFAULT_STALL_TIMEOUT_MS, type StallListener, stallReporter } from "../http/stall.ts";
import { HttpTransport } from "../http/transport.ts";
import { Watchdog } from "../http/watchdog.ts";
import type { DavResource } from "./xml.ts";

/** A PROPFIND body asking for what a stat needs: type, size, time and ETag. */
export const PROPS_STAT =
  '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>' +
  "<D:resourcetype/><D:getcontentlength/><D:getlastmodified/><D:getetag/></D:prop></D:propfind>";

/** User name and password for HTTP Basic authentication. */
export interface Credentials {
  user: string;
  password: string;
}

/** Statuses worth another attempt: the server is busy, restarting, or lost the request. */
const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** What a request sends besides its method and URL. */
export interface RequestInit {
  headers?: Record<string, string>;
  body?: Uint8Array | string | null;
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
  readonly #transport: HttpTransport;

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
    this.#transport = new HttpTransport({ tunnelTimeoutMs: stallTimeoutMs });
    if (credentials) {
      const bytes = new TextEncoder().encode(`${credentials.user}:${credentials.password}`);
      this.#auth = `Basic ${btoa(String.fromCharCode(...bytes))}`;
    }
  }

  /** The URL of a cache-relative path ("" is the root); collections get a trailing slash. */
  url(path: string, collection = false): string {
    if (path === "") return this.base;
    const encoded = path.split("/").map(encodeURIComponent).join("/");
    return collection ? `${this.base}${encoded}/` : this.base + encoded;
  }

  /**
   * Sends one request. Network failures become BackendErrors: `target` when the server cannot be
   * reached at all (refused, unknown host, TLS, a proxy that cannot be reached), `transient` when
   * a connection broke or stalled; an abort of `signal` rejects with its reason. The status is
   * left to the caller; the response body must be read or cancelled.
   */
  send(
    method: string,
    url: string,
    init: RequestInit,
    what: string,
    watch: Watchdog,
  ): Promise<Response> {
    const body = typeof init.body === "string" ? new TextEncoder().encode(init.body) : init.body;
    return this.#send(method, url, init.headers ?? {}, body, 0, what, watch);
  }

  /**
   * Sends a request whose body is a stream of exactly `length` bytes, with that
   * `Content-Length`. A failure of `body` breaks the request off, so the server never gets a
   * whole body, and rejects with that failure. Otherwise as `send`.
   */
  sendStream(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: ReadableStream<Uint8Array>,
    length: number,
    what: string,
    watch: Watchdog,
  ): Promise<Response> {
    return this.#send(method, url, headers, body, length, what, watch);
  }

  async #send(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: Uint8Array | ReadableStream<Uint8Array> | null | undefined,
    length: number,
    what: string,
    watch: Watchdog,
  ): Promise<Response> {
    const all: Record<string, string> = { ...headers };
    if (this.#auth) all.Authorization = this.#auth;
    if (body instanceof Uint8Array) all["Content-Length"] = String(body.length);
    else if (body) all["Content-Length"] = String(length);
    else if (method !== "GET") all["Content-Length"] = "0";
    try {
      const res = await this.#transport.send(
        { method, url: new URL(url), headers: all, body: body ?? undefined },
        watch,
      );
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 599) {
        res.destroy();
        throw new BackendError(`${what}: HTTP ${status}`, "file", { code: String(status) });
      }
      return toResponse(res, () => watch.kick());
    } catch (err) {
      throw this.failure(err, what, watch);
    }
  }

  /** Releases the connections kept alive. */
  close(): void {
    this.#transport.close();
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

  /** The error to throw for a request that failed with `err` (also while reading its body). */
  failure(err: unknown, what: string, watch: Watchdog): unknown {
    if (watch.caller?.aborted) return watch.caller.reason;
    if (err instanceof BackendError) return err;
    if (watch.timedOut) {
      return new BackendError(
        `${what}: no progress for ${watch.ms / 1000} s from ${this.#origin}`,
        "transient",
        { code: "ETIMEDOUT", cause: err },
      );
    }
    const code = String((err as { code?: unknown })?.code ?? "");
    const message = err instanceof Error ? err.message : String(err);
    let reason: string | null = null;
    if (NODE_CONNECT_ERRORS[code] !== undefined) reason = NODE_CONNECT_ERRORS[code] || message;
    else if (isTlsFailure(err)) reason = message; // with the CA settings read (transport)
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

  /**
   * The error for an unexpected status. 401/403/407 (a proxy's) and 501/505 concern the whole target (bad
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
        denied: true,
      });
    }
    if (status === 407) {
      const proxy = ENVIRONMENT.proxyFor(new URL(this.base));
      const by = proxy ? `the proxy ${proxy.display} (${proxy.variable})` : "a proxy";
      const hint = proxy?.authorization ? "it refused the credentials" : "it wants credentials";
      return new BackendError(
        `${by} refused access to ${this.display} (${line}): ${hint}`,
        "target",
        { code, denied: true },
      );
    }
    if (status === 403) {
      return new BackendError(`access denied to ${this.display} (${line})`, "target", {
        code,
        denied: true,
      });
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

  /** The first response of a multistatus for `url` that names `path`. */
  resourceAt(resources: DavResource[], url: string, path: string): DavResource | null {
    return resources.find((r) => !r.failed && this.relative(r.href, url) === path) ?? null;
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

/** Whether `res` redirects `url` to `url/`, as Apache does for a collection named without "/". */
export function isRedirectToCollection(res: Response, url: string): boolean {
  if (res.status < 300 || res.status >= 400) return false;
  const to = res.headers.get("location");
  if (!to) return false;
  try {
    return new URL(to, url).pathname === `${new URL(url).pathname}/`;
  } catch {
    return false;
  }
}

/** The failure of a file operation on a path where a collection is. */
export function collectionInTheWay(what: string): BackendError {
  return new BackendError(`${what}: a collection is in the way`, "file");
}
