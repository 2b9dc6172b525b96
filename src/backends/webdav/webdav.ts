/**
 * WebDAV backend (`http://` and `https://`), made for Apache mod_dav_fs and anything that speaks
 * RFC 4918 the same way. What the server guarantees and what this relies on (atomic PUTs but no
 * exclusive create, racing MKCOLs, recursive DELETE, collections pruned under an upload, and
 * what was measured): docs/webdav.md.
 */
import {
  type Backend,
  BackendError,
  type CallOptions,
  checkPath,
  type Entry,
  type Features,
  isAbortError,
  type ListOptions,
  parentOf,
  type PutOptions,
  type PutResult,
  type PutSource,
} from "../backend.ts";
import type { StallListener } from "../http/stall.ts";
import { credentialsFor, urlCredentials } from "./credentials.ts";
import { openBody } from "./body.ts";
import {
  collectionInTheWay,
  type Credentials,
  DavClient,
  isRedirectToCollection,
  PROPS_STAT,
} from "./client.ts";
import { type ListContext, listTree } from "./list.ts";
import {
  type DavLocation,
  parseDavLocation,
  WEBDAV_DEFAULT_JOBS,
  WEBDAV_FEATURES,
} from "./location.ts";
import { markUsed } from "./last_use.ts";
import { pruneEmptyCollections } from "./prune.ts";
import { type DavResource, MultistatusError, parseMultistatus } from "./xml.ts";

/**
 * How often a put or MKCOL that finds its parent collection missing (409) creates it again: a
 * clean running beside an upload may prune a collection between its MKCOL and the PUT into it.
 */
const RECREATE_ATTEMPTS = 5;

/** Settings for tests and tuning. */
export interface WebDavOptions {
  /** Credentials (default: the URL's; `openWebDav` also looks in the environment and netrc). */
  credentials?: Credentials;
  /** A request without progress for this long fails transiently (default 60 s). */
  stallTimeoutMs?: number;
  /** Told (at most once per stall timeout) when requests stall. */
  onStall?: StallListener;
}

/**
 * Opens the WebDAV cache at `location`, with credentials from the URL, environment or netrc (the
 * location is parsed once).
 */
export async function openWebDav(location: string | DavLocation, options: WebDavOptions = {}) {
  const parsed = typeof location === "string" ? parseDavLocation(location) : location;
  const credentials = options.credentials ?? await credentialsFor(parsed.url);
  return new WebDavBackend(parsed, { ...options, credentials });
}

/** A cache in a WebDAV collection. */
export class WebDavBackend implements Backend {
  readonly displayUrl: string;
  readonly features: Features = WEBDAV_FEATURES;
  readonly defaultJobs = WEBDAV_DEFAULT_JOBS;
  readonly #client: DavClient;
  /** Collections known to exist (seen in a listing, created or found by MKCOL). */
  readonly #dirs = new Set<string>();
  /**
   * Whether `#dirs` holds every collection there is (after a complete listing, or the creation
   * of an empty root): a collection not in it is then created parents first, without asking.
   */
  #knowsAll = false;
  /** MKCOLs in flight, so that parallel puts into a new collection create it once. */
  readonly #mkcols = new Map<string, Promise<void>>();
  /** The last put of each path in flight: puts of one path run one after the other. */
  readonly #busy = new Map<string, Promise<unknown>>();
  readonly #list: ListContext;

  constructor(location: string | DavLocation, options: WebDavOptions = {}) {
    const parsed = typeof location === "string" ? parseDavLocation(location) : location;
    this.displayUrl = parsed.displayUrl;
    const credentials = options.credentials ?? urlCredentials(parsed.url);
    const url = new URL(parsed.url);
    url.username = "";
    url.password = "";
    this.#client = new DavClient(
      url,
      this.displayUrl,
      credentials,
      options.stallTimeoutMs,
      options.onStall,
    );
    this.#list = {
      client: this.#client,
      jobs: this.defaultJobs,
      onCollection: (path) => this.#dirs.add(path),
      onComplete: () => (this.#knowsAll = true),
    };
  }

  async exists(options: CallOptions = {}): Promise<boolean> {
    const root = await this.#resource("", options.signal);
    return root !== null && root.collection;
  }

  async create(options: CallOptions = {}): Promise<void> {
    const { signal } = options;
    const status = await this.#mkcolUrl(this.#client.base, signal);
    if (status === 201) this.#knowsAll = true; // a new collection has nothing in it
    if (status === 405 && !(await this.exists(options))) {
      throw new BackendError(`${this.displayUrl} exists but is not a collection`, "target");
    }
  }

  /** MKCOL of `url`, creating missing parent collections up to the server's root first. */
  async #mkcolUrl(url: string, signal?: AbortSignal): Promise<number> {
    const what = `cannot create ${this.displayUrl}`;
    const once = async () => {
      const res = await this.#sendOnce("MKCOL", url, what, signal);
      if (res.status === 201 || res.status === 405 || res.status === 409) return res.status;
      if (res.status === 403 && url === this.#client.base && (await this.exists({ signal }))) {
        return 405; // lost a race with another MKCOL of the root (see #mkcolOnce)
      }
      const err = this.#client.statusError(res, what);
      throw err.scope === "file"
        ? new BackendError(err.message, "target", { code: err.code })
        : err;
    };
    let status = await once();
    if (status === 409) {
      const parent = new URL("..", url);
      if (parent.pathname !== "/") await this.#mkcolUrl(parent.href, signal);
      status = await once();
      if (status === 409) throw new BackendError(`${what}: HTTP 409 Conflict`, "target");
    }
    return status;
  }

  list(options: ListOptions = {}): AsyncIterable<Entry[]> {
    return listTree(this.#list, options);
  }

  async stat(path: string, options: CallOptions = {}): Promise<Entry | null> {
    checkPath(path);
    const r = await this.#resource(path, options.signal);
    if (!r || r.collection) return null;
    return { path, size: Math.max(r.size, 0), mtime: r.mtime };
  }

  /**
   * The properties of one resource (PROPFIND `Depth: 0`), or null when it does not exist. A
   * collection asked for without its trailing slash may answer with a redirect: also null.
   */
  async #resource(
    path: string,
    signal?: AbortSignal,
    collection = path === "",
  ): Promise<DavResource | null> {
    const client = this.#client;
    const url = client.url(path, collection);
    const what = path === "" ? `cannot access ${this.displayUrl}` : `cannot stat ${path}`;
    using watch = client.watch(signal);
    const res = await client.propfind(url, "0", PROPS_STAT, what, watch);
    if (res.status !== 207) {
      await res.body?.cancel();
      if (res.status === 404 || (path !== "" && isRedirectToCollection(res, url))) return null;
      const err = client.statusError(res, what);
      if (path === "" && err.scope === "file") {
        throw new BackendError(err.message, "target", { code: err.code });
      }
      throw err;
    }
    const text = new TextDecoder().decode(await client.readBody(res, what, watch));
    let resources: DavResource[];
    try {
      resources = parseMultistatus(text);
    } catch (err) {
      if (!(err instanceof MultistatusError)) throw err;
      throw new BackendError(`${what}: unreadable response (${err.message})`, "transient");
    }
    return client.resourceAt(resources, url, path);
  }

  async put(path: string, source: PutSource, options: PutOptions = {}): Promise<PutResult> {
    checkPath(path);
    options.signal?.throwIfAborted();
    const previous = this.#busy.get(path);
    const mine = (previous ? settled(previous, options.signal) : Promise.resolve())
      .then(() => this.#put(path, source, options));
    this.#busy.set(path, mine);
    try {
      return await mine;
    } finally {
      if (this.#busy.get(path) === mine) this.#busy.delete(path);
    }
  }

  async #put(path: string, source: PutSource, options: PutOptions): Promise<PutResult> {
    const { signal } = options;
    signal?.throwIfAborted();
    const dir = parentOf(path);
    for (let attempt = 1;; attempt++) {
      await this.#ensureDir(dir, signal);
      const result = await this.#putOnce(path, source, options);
      if (result !== "no parent") return result;
      if (attempt >= RECREATE_ATTEMPTS) {
        throw new BackendError(
          `cannot upload ${path}: HTTP 409 Conflict (a parent collection is missing)`,
          "file",
          { code: "409" },
        );
      }
      // The parent went away (pruned by a clean meanwhile): create it again.
      this.#forget(dir);
    }
  }

  /**
   * Forgets that `dir` and its ancestors exist (a clean may have pruned them), so that they are
   * created again where needed.
   */
  #forget(dir: string): void {
    this.#knowsAll = false;
    for (let d = dir; d !== ""; d = parentOf(d)) this.#dirs.delete(d);
  }

  /** One PUT; "no parent" when the server says a parent collection is missing (409). */
  async #putOnce(
    path: string,
    source: PutSource,
    options: PutOptions,
  ): Promise<PutResult | "no parent"> {
    const client = this.#client;
    const what = `cannot upload ${path}`;
    const url = client.url(path);
    using watch = client.watch(options.signal);
    await using body = await openBody(source, watch);
    const headers: Record<string, string> = {};
    if (options.ifAbsent) headers["If-None-Match"] = "*";
    let res: Response;
    try {
      res = body.body instanceof Uint8Array
        ? await client.send("PUT", url, { headers, body: body.body }, what, watch)
        : await client.sendStream("PUT", url, headers, body.body, source.size, what, watch);
    } catch (err) {
      throw body.error ?? err;
    }
    await res.body?.cancel();
    switch (res.status) {
      case 200:
      case 201:
      case 204:
        this.#dirs.add(parentOf(path));
        return "stored";
      case 409:
        return "no parent";
      case 412:
        if (!options.ifAbsent) break;
        if ((await this.#resource(path, options.signal))?.collection) {
          throw collectionInTheWay(what);
        }
        return "exists";
    }
    if (isRedirectToCollection(res, url)) throw collectionInTheWay(what);
    throw client.statusError(res, what);
  }

  /** Makes sure collection `dir` exists: MKCOL once per collection, parents only when missing. */
  async #ensureDir(dir: string, signal?: AbortSignal): Promise<void> {
    if (dir === "" || this.#dirs.has(dir)) return;
    let pending = this.#mkcols.get(dir);
    if (!pending) {
      pending = this.#mkcol(dir, signal).finally(() => this.#mkcols.delete(dir));
      this.#mkcols.set(dir, pending);
    }
    try {
      await pending;
    } catch (err) {
      // Another put's abort is not ours: try again.
      if (isAbortError(err) && !signal?.aborted) return this.#ensureDir(dir, signal);
      throw err;
    }
  }

  async #mkcol(dir: string, signal?: AbortSignal): Promise<void> {
    // A parent known to be missing is created first; otherwise the MKCOL's 409 tells.
    const parent = parentOf(dir);
    if (this.#knowsAll) await this.#ensureDir(parent, signal);
    for (let attempt = 1;; attempt++) {
      const status = await this.#mkcolOnce(dir, signal);
      if (status !== 409) break;
      if (parent === "" || attempt >= RECREATE_ATTEMPTS) {
        throw new BackendError(
          `cannot create collection ${dir}: HTTP 409 Conflict (does ${this.displayUrl} exist?)`,
        );
      }
      // The parent is missing, known to exist or not (a clean may have pruned it meanwhile).
      this.#forget(parent);
      await this.#ensureDir(parent, signal);
    }
    this.#dirs.add(dir);
  }

  /**
   * One MKCOL: 201 created, 405 exists already, 409 its parent is missing. Apache answers 403
   * to the loser of two MKCOLs of one new collection (its mkdir fails with EEXIST): a 403 for a
   * collection that exists after all counts as 405.
   */
  async #mkcolOnce(dir: string, signal?: AbortSignal): Promise<number> {
    const what = `cannot create collection ${dir}`;
    const res = await this.#sendOnce("MKCOL", this.#client.url(dir, true), what, signal);
    if (res.status === 201 || res.status === 405 || res.status === 409) return res.status;
    if (res.status === 403 && (await this.#resource(dir, signal, true))?.collection) return 405;
    throw this.#client.statusError(res, what);
  }

  /** A request without a body whose response body is not needed. */
  async #sendOnce(method: string, url: string, what: string, signal?: AbortSignal) {
    using watch = this.#client.watch(signal);
    const res = await this.#client.send(method, url, {}, what, watch);
    await res.body?.cancel();
    return res;
  }

  async read(path: string, options: CallOptions = {}): Promise<Uint8Array | null> {
    checkPath(path);
    const client = this.#client;
    const url = client.url(path);
    const what = `cannot read ${path}`;
    using watch = client.watch(options.signal);
    const res = await client.send("GET", url, {}, what, watch);
    if (res.status === 200) return await client.readBody(res, what, watch);
    await res.body?.cancel();
    if (res.status === 404 || isRedirectToCollection(res, url)) return null;
    throw client.statusError(res, what);
  }

  /**
   * DELETE with `Depth: 0`, which servers refuse (400) for a collection, so that a path naming a
   * collection can never delete a tree.
   */
  async delete(path: string, options: CallOptions = {}): Promise<void> {
    checkPath(path);
    const client = this.#client;
    const url = client.url(path);
    const what = `cannot delete ${path}`;
    using watch = client.watch(options.signal);
    const res = await client.send("DELETE", url, { headers: { Depth: "0" } }, what, watch);
    await res.body?.cancel();
    if (res.status === 200 || res.status === 204 || res.status === 404) return;
    if (res.status === 400 || isRedirectToCollection(res, url)) {
      throw new BackendError(`not deleting ${path}: it is a collection`, "file", {
        code: String(res.status),
      });
    }
    throw client.statusError(res, what);
  }

  /** Sets the file's last-use property to now (see last_use.ts); false when it is missing. */
  markUsed(path: string, options: CallOptions = {}): Promise<boolean> {
    return markUsed(this.#client, path, options.signal);
  }

  /**
   * Deletes the collections among `dirs` and their ancestors that are empty, deepest first, each
   * only if unchanged since it was seen empty (see prune.ts).
   */
  pruneEmptyDirs(dirs: Iterable<string>, options: CallOptions = {}): Promise<number> {
    return pruneEmptyCollections(this.#client, dirs, {
      jobs: this.defaultJobs,
      signal: options.signal,
      removed: (dir) => this.#dirs.delete(dir),
    });
  }

  close(): Promise<void> {
    this.#dirs.clear();
    this.#knowsAll = false;
    this.#client.close();
    return Promise.resolve();
  }
}

/** Resolves once `previous` settles (whatever its outcome), or rejects when `signal` aborts. */
function settled(previous: Promise<unknown>, signal?: AbortSignal): Promise<void> {
  const done = previous.then(() => {}, () => {});
  if (!signal) return done;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    done.then(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}
