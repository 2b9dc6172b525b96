/**
 * The base of every backend that wraps another (the retry layer, watch's outage gate, the tests'
 * wrappers). Every call goes to the wrapped backend through `through`, which a wrapper overrides
 * to retry, wait or count. The optional methods exist exactly where the wrapped backend has them:
 * they are forwarded by construction, one forwarder per optional method of the contract (the
 * compiler insists on each), so no wrapper can drop one. `features`, `displayUrl` and
 * `defaultJobs` are the wrapped backend's.
 */
import type {
  Backend,
  CallOptions,
  DeleteOutcome,
  Entry,
  Features,
  ListOptions,
  OptionalMethod,
  PutOptions,
  PutResult,
  PutSource,
} from "./backend.ts";

/** A call of the wrapped backend that returns a promise, by the name of its method. */
export type DelegatedCall = Exclude<keyof Backend, "displayUrl" | "features" | "defaultJobs">;

/** Passes every call on to `inner`; wrappers override `through` and single calls. */
export class DelegatingBackend implements Backend {
  readonly displayUrl: string;
  readonly features: Features;
  readonly defaultJobs: number;
  readonly deleteMany?: Backend["deleteMany"];
  readonly tempFiles?: Backend["tempFiles"];
  readonly unfinishedUploads?: Backend["unfinishedUploads"];
  readonly removeLeftover?: Backend["removeLeftover"];
  readonly pruneEmptyDirs?: Backend["pruneEmptyDirs"];
  readonly markUsed?: Backend["markUsed"];
  readonly prepare?: Backend["prepare"];

  constructor(readonly inner: Backend) {
    this.displayUrl = inner.displayUrl;
    this.features = inner.features;
    this.defaultJobs = inner.defaultJobs;
    const forwarders = this.#forwarders();
    for (const name of Object.keys(forwarders) as OptionalMethod[]) {
      if (inner[name]) Object.assign(this, { [name]: forwarders[name] });
    }
  }

  /** A forwarder for each optional method of the contract. */
  #forwarders(): { [K in OptionalMethod]-?: NonNullable<Backend[K]> } {
    const inner = this.inner;
    return {
      deleteMany: (paths, o) => this.deleteInBulk(paths, o),
      tempFiles: (entries) => inner.tempFiles!(entries),
      unfinishedUploads: (o) =>
        this.through("unfinishedUploads", () => inner.unfinishedUploads!(o), o?.signal),
      removeLeftover: (l, o) =>
        this.through("removeLeftover", () => inner.removeLeftover!(l, o), o?.signal),
      pruneEmptyDirs: (dirs, o) =>
        this.through("pruneEmptyDirs", () => inner.pruneEmptyDirs!(dirs, o), o?.signal),
      markUsed: (path, o) => this.through("markUsed", () => inner.markUsed!(path, o), o?.signal),
      prepare: () => inner.prepare!(),
    };
  }

  /**
   * Runs one call of the wrapped backend (`method` names it; `signal` is the call's): as it is,
   * here. Wrappers override this to retry, wait for the target or count.
   */
  protected through<T>(
    _method: DelegatedCall,
    call: () => Promise<T>,
    _signal?: AbortSignal,
  ): Promise<T> {
    return call();
  }

  /** `deleteMany` of the wrapped backend (which has it). */
  protected deleteInBulk(paths: readonly string[], o?: CallOptions): Promise<DeleteOutcome[]> {
    return this.through("deleteMany", () => this.inner.deleteMany!(paths, o), o?.signal);
  }

  exists(o?: CallOptions): Promise<boolean> {
    return this.through("exists", () => this.inner.exists(o), o?.signal);
  }

  create(o?: CallOptions): Promise<void> {
    return this.through("create", () => this.inner.create(o), o?.signal);
  }

  list(o?: ListOptions): AsyncIterable<Entry[]> {
    return this.inner.list(o);
  }

  stat(path: string, o?: CallOptions): Promise<Entry | null> {
    return this.through("stat", () => this.inner.stat(path, o), o?.signal);
  }

  put(path: string, source: PutSource, o?: PutOptions): Promise<PutResult> {
    return this.through("put", () => this.inner.put(path, source, o), o?.signal);
  }

  read(path: string, o?: CallOptions): Promise<Uint8Array | null> {
    return this.through("read", () => this.inner.read(path, o), o?.signal);
  }

  delete(path: string, o?: CallOptions): Promise<void> {
    return this.through("delete", () => this.inner.delete(path, o), o?.signal);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
