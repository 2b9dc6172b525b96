/**
 * The one contract every cache backend implements. Paths are relative to the cache root and
 * `/`-separated; a backend refuses any path that could leave the root. Every call takes an
 * `AbortSignal`: an aborted call stops what it is doing, leaves nothing half-written behind and
 * rejects with the signal's reason (an `AbortError`).
 */

/** A file in a cache. */
export interface Entry {
  /** Path relative to the cache root. */
  path: string;
  /** Size in bytes (0 when listed without metadata). */
  size: number;
  /** Modification (on remotes: upload) time in ms since the epoch (0 without metadata). */
  mtime: number;
  /** A symbolic link (only backends with symbolic links set it). */
  isLink?: boolean;
  /**
   * When `markUsed` last recorded a use, in ms since the epoch, where the backend records uses
   * apart from `mtime` (WebDAV); absent elsewhere, where `markUsed` moves `mtime` itself.
   */
  lastUsed?: number;
}

/** Options every call takes. */
export interface CallOptions {
  /** Aborts the call. */
  signal?: AbortSignal;
}

/** Options of `Backend.list`. */
export interface ListOptions extends CallOptions {
  /**
   * Whether sizes and times are needed (default true). With false a backend may report 0 for
   * them where learning them costs extra requests, as a stat per file does for `file://`.
   */
  metadata?: boolean;
  /**
   * Told once about each part of the tree that was skipped (an unreadable directory, an entry
   * that points outside the root). Without it such parts are skipped silently. A root that
   * cannot be listed is an error, never a warning.
   */
  onWarning?: (message: string) => void;
  /**
   * Told once per listing about what it left out on purpose: the symbolic links to directories
   * in a local tree, which are never followed (with their count). Without it, `onWarning` is.
   */
  onNote?: (message: string) => void;
  /**
   * Memory matters more than speed (the caller keeps much per file): a backend lists on the
   * caller's thread alone, without a helper thread (a thread takes some 25 MB).
   */
  lean?: boolean;
}

/** The local file a `put` stores, with the size it must have on the target. */
export interface PutSource {
  /** Absolute path of a local file. */
  file: string;
  /** Its size in bytes; a stored size that differs fails the put. */
  size: number;
}

/** Options of `Backend.put`. */
export interface PutOptions extends CallOptions {
  /**
   * Never replace a file that exists when the put begins: the put resolves "exists" and the
   * target is unchanged. Puts of one path racing in one process store it once; so do racing
   * writers anywhere where the store can create exclusively (a local directory, S3). On a
   * WebDAV server (Apache checks the condition when a request starts) two processes racing for
   * one new path may both store it, each copy whole. Upload always sets it.
   */
  ifAbsent?: boolean;
}

/** What a put did: stored the file, or found it there already (only with `ifAbsent`). */
export type PutResult = "stored" | "exists";

/** The most paths one `deleteMany` call takes. */
export const MAX_BULK_DELETE = 1000;

/** The outcome of deleting one path in a `deleteMany` call. */
export interface DeleteOutcome {
  path: string;
  /**
   * Why it was not deleted; absent on success (a missing path counts as deleted). After an
   * abort, the abort's reason for a path whose request never reached the store.
   */
  error?: Error;
  /**
   * Only after an abort: the request was cut after the store had it, and the path was still
   * there when checked (or could not be checked): the store may yet delete it.
   */
  inDoubt?: boolean;
}

/**
 * What a killed or interrupted upload left on a target: a temporary file that a put wrote
 * (file://), or an upload that the store holds apart from its files (an S3 multipart upload).
 */
export interface Leftover {
  /** The temporary file's path; for an unfinished upload, the path it was meant for. */
  path: string;
  /** Bytes it holds, where a listing tells (0 otherwise). */
  size: number;
  /** When it was written or started, in ms since the epoch. */
  started: number;
  /** Its writer has ended for sure (a process of this host that is gone): it may go at once. */
  orphaned: boolean;
  /** The store's id of an unfinished upload (none for a temporary file). */
  uploadId?: string;
}

/** What a backend can do, so callers need not guess from its URL. */
export interface Features {
  /**
   * Paths live in real directories (file://, WebDAV): parents are created on put, and clean
   * removes those left empty with `pruneEmptyDirs`. False for flat key spaces (S3).
   */
  directories: boolean;
  /** `deleteMany` removes up to MAX_BULK_DELETE paths in one request (S3). */
  bulkDelete: boolean;
  /** The backend retries transient failures itself (the AWS SDK does): callers must not. */
  retriesInternally: boolean;
  /** `markUsed` records that a file was used, without rewriting it (see `Backend.markUsed`). */
  lastUse: boolean;
}

/** A cache location: a local directory, a WebDAV collection or an S3 prefix. */
export interface Backend {
  /** The location for printing, with credentials redacted. */
  readonly displayUrl: string;
  readonly features: Features;
  /** Operations in flight that suit this backend when `--jobs` is not given. */
  readonly defaultJobs: number;
  /**
   * Whether the cache root exists. False only when it is not found: an unreachable server,
   * missing permission or bad credentials throw.
   */
  exists(options?: CallOptions): Promise<boolean>;
  /** Creates the cache root if it is missing. */
  create(options?: CallOptions): Promise<void>;
  /**
   * Every file below the root, streamed in batches (a directory, a page of a listing), in no
   * particular order: handing over thousands of entries one by one would cost more than
   * finding them.
   */
  list(options?: ListOptions): AsyncIterable<Entry[]>;
  /** One file's entry, or null if it does not exist. */
  stat(path: string, options?: CallOptions): Promise<Entry | null>;
  /**
   * Stores a local file at `path` so that readers see either nothing (or the previous file) or
   * the whole new file, never a part; creates parent directories as needed (in a local tree,
   * never through a symbolic link to a directory).
   */
  put(path: string, source: PutSource, options?: PutOptions): Promise<PutResult>;
  /** A file's content, or null if it does not exist. */
  read(path: string, options?: CallOptions): Promise<Uint8Array | null>;
  /**
   * Deletes a file; a missing file is fine. Never removes directories, nor (in a local tree)
   * anything reached through a symbolic link to a directory.
   */
  delete(path: string, options?: CallOptions): Promise<void>;
  /**
   * Deletes up to MAX_BULK_DELETE files in as few requests as the backend allows, reporting
   * each path's outcome. Present when `features.bulkDelete`. An abort once requests were sent
   * does not reject: the call checks, briefly, which paths are gone, and reports the others as
   * not deleted (their request never reached the store) or `inDoubt`.
   */
  deleteMany?(paths: readonly string[], options?: CallOptions): Promise<DeleteOutcome[]>;
  /**
   * The temporary files among `entries` (files of a listing that are not artifacts) that puts
   * of this backend write and a killed upload leaves behind, recognised without a request.
   * Present on backends whose puts write temporary names (file://).
   */
  tempFiles?(entries: Iterable<Entry>): Leftover[];
  /**
   * Uploads below the root that were started and never completed nor aborted (a killed run's S3
   * multipart uploads): they hold storage until removed. Present where such uploads exist.
   */
  unfinishedUploads?(options?: CallOptions): Promise<Leftover[]>;
  /**
   * Removes a leftover of either kind: deletes the temporary file, aborts the unfinished upload
   * (one gone already is fine). Present with `tempFiles` or `unfinishedUploads`.
   */
  removeLeftover?(leftover: Leftover, options?: CallOptions): Promise<void>;
  /**
   * Removes `dirs` (relative directory paths, e.g. the parents of deleted files) and their
   * ancestors below the root where they are empty; never the root, never a symlinked directory
   * nor one reached through such a link.
   * Returns how many directories were removed. Present when `features.directories`.
   */
  pruneEmptyDirs?(dirs: Iterable<string>, options?: CallOptions): Promise<number>;
  /**
   * Records that the file at `path` was used now, so that its last use (the later of `mtime`
   * and `lastUsed` in listings) is now; its content stays as it is and readers never see it
   * missing or partial meanwhile. Resolves false when the file does not exist. Throws a
   * `BackendError` with code UNSUPPORTED where the server refuses to record uses. Present
   * when `features.lastUse`.
   */
  markUsed?(path: string, options?: CallOptions): Promise<boolean>;
  /**
   * Gets ready for puts that are about to come (starts threads, opens connections), so that
   * the first one does not wait for it. Optional; puts work without it.
   */
  prepare?(): void;
  /** Releases connections, workers and temporary state. */
  close(): Promise<void>;
}

/** The names of the optional methods of `Backend`. */
export type OptionalMethod = {
  [K in keyof Backend]-?: undefined extends Backend[K] ? K : never;
}[keyof Backend];

/**
 * Every optional method of the contract: what a backend may have, and so what a wrapper must
 * pass on where the wrapped backend has it (see delegating.ts).
 */
export const OPTIONAL_METHODS = [
  "deleteMany",
  "tempFiles",
  "unfinishedUploads",
  "removeLeftover",
  "pruneEmptyDirs",
  "markUsed",
  "prepare",
] as const satisfies readonly OptionalMethod[];

/** `true` while OPTIONAL_METHODS names every optional method of `Backend`, else `never`. */
type EveryOptionalMethodListed = [
  Exclude<OptionalMethod, typeof OPTIONAL_METHODS[number]>,
] extends [never] ? true : never;
/** Does not compile while an optional method is missing from OPTIONAL_METHODS. */
const _everyOptionalMethodListed: EveryOptionalMethodListed = true;

/**
 * How far a failure reaches: `transient` (a timeout, a busy server: worth retrying), `file`
 * (this path only) or `target` (the whole target is unusable: no space, read-only, bad
 * credentials; a run stops at the first one).
 */
export type FailureScope = "transient" | "file" | "target";

/** A proxy as failures name it: its URL (credentials redacted) and the variable that set it. */
export interface ProxyName {
  url: string;
  variable: string;
}

/** A backend failure. */
export class BackendError extends Error {
  readonly scope: FailureScope;
  /** The errno-style code or HTTP status of the cause, where there is one. */
  readonly code?: string;
  /**
   * The target refuses this client: wrong or missing credentials, no permission. Waiting does
   * not help (unlike an outage); a target-wide failure.
   */
  readonly denied: boolean;
  /** The failure is the proxy's (it cannot be reached, or refused): which one, not the target. */
  readonly proxy?: ProxyName;

  constructor(
    message: string,
    scope: FailureScope = "file",
    options?: ErrorOptions & {
      code?: string;
      denied?: boolean;
      proxy?: ProxyName;
    },
  ) {
    super(message, options);
    this.name = "BackendError";
    this.scope = scope;
    this.code = options?.code;
    this.denied = options?.denied ?? false;
    this.proxy = options?.proxy;
  }

  /** Worth another attempt. */
  get transient(): boolean {
    return this.scope === "transient";
  }
}

/** Whether `err` is the rejection of an aborted call. */
export function isAbortError(err: unknown): boolean {
  return err instanceof DOMException && (err.name === "AbortError" || err.name === "TimeoutError");
}

/**
 * The rejection of a call that its abort cut before it could change anything on the target (a
 * put that did not reach the point where the file could be stored): callers need not check.
 */
export function abortedUnchanged(signal: AbortSignal): DOMException {
  const reason = signal.reason instanceof Error ? signal.reason.message : "aborted";
  return Object.assign(new DOMException(reason, "AbortError"), { unchanged: true });
}

/** Whether `err` is an `abortedUnchanged` rejection. */
export function isUnchanged(err: unknown): boolean {
  return isAbortError(err) && (err as { unchanged?: boolean }).unchanged === true;
}

/** The code of a `BackendError` for a feature the server refuses (recording uses, say). */
export const UNSUPPORTED = "UNSUPPORTED";

/** Whether `err` says that the server refuses a feature (see `UNSUPPORTED`). */
export function isUnsupported(err: unknown): boolean {
  return err instanceof BackendError && err.code === UNSUPPORTED;
}

/** Best one-line description of any thrown value (with its errno code where it adds one). */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    const msg = err.message.split("\n")[0];
    return code && !msg.includes(code) ? `${msg} (${code})` : msg;
  }
  return String(err);
}

/** Validates a cache-relative path and returns it; throws for anything that escapes the root. */
export function checkPath(path: string): string {
  const parts = path.split("/");
  if (
    path === "" || path.includes("\0") ||
    parts.some((p) => p === "" || p === "." || p === "..")
  ) {
    throw new BackendError(`refusing path outside the cache root: '${path}'`);
  }
  return path;
}

/** The parent directory of a cache-relative path ("" for a top-level file). */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}
