/**
 * The one interface every cache backend implements. Paths are relative to the cache root and
 * `/`-separated; a backend refuses any path that could leave the root.
 */

/** A file in a cache. */
export interface Entry {
  /** Path relative to the cache root. */
  path: string;
  size: number;
  /** Modification (on remotes: upload) time in ms since the epoch. */
  mtime: number;
  isLink: boolean;
}

/** Options of `Backend.list`. */
export interface ListOptions {
  /**
   * Whether sizes and times are needed (default true). With false a backend may report 0 for
   * them where learning them costs extra requests, as a stat per file does for `file://`.
   */
  metadata?: boolean;
}

/** A cache location: a local directory, a WebDAV collection or an S3 prefix. */
export interface Backend {
  /** The location for printing, with credentials redacted. */
  readonly displayUrl: string;
  /** Transfers in flight that suit this backend when `--jobs` is not given. */
  readonly defaultJobs?: number;
  /** Whether the cache root exists (and is reachable). */
  exists(): Promise<boolean>;
  /** Creates the cache root if it is missing. */
  create(): Promise<void>;
  /** Every file below the root, streamed, in no particular order. */
  list(options?: ListOptions): AsyncIterable<Entry>;
  /** One file's entry, or null if it does not exist. */
  stat(path: string): Promise<Entry | null>;
  /** Stores a local file at `path` so that readers see either nothing or the whole file. */
  put(path: string, localFile: string): Promise<void>;
  /** A file's content, or null if it does not exist. */
  read(path: string): Promise<Uint8Array | null>;
  /** Deletes a file (a missing file is fine) and prunes directories left empty above it. */
  delete(path: string): Promise<void>;
  /** Releases connections and temporary state. */
  close(): Promise<void>;
}

/** A backend failure; `transient` ones (timeouts, busy servers) are worth retrying. */
export class BackendError extends Error {
  /** `code`: the errno-style code of the cause, e.g. `ECANCELED` for an interrupted transfer. */
  constructor(
    message: string,
    readonly transient = false,
    options?: ErrorOptions & { code?: string },
  ) {
    super(message, options);
    this.name = "BackendError";
    this.code = options?.code;
  }

  readonly code?: string;
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
