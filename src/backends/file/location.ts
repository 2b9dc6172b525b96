/** `file://` locations (or bare paths): a cache in a local or mounted directory. */
import { BackendError, type Features } from "../backend.ts";
import { redactUrl } from "../url.ts";

/** Copies queued for the copy threads when `--jobs` is not given: enough for full batches. */
export const FILE_DEFAULT_JOBS = 256;

/** What a cache in a directory can do. */
export const FILE_FEATURES: Features = {
  directories: true,
  bulkDelete: false,
  retriesInternally: false,
  lastUse: true,
};

/** A local cache location, parsed. */
export interface FileLocation {
  /** The path as given (a `file://` prefix removed). */
  path: string;
  /** Its absolute, normalized form. */
  root: string;
  /** `file://PATH` as given, for printing (credentials-like parts redacted). */
  displayUrl: string;
}

/**
 * The absolute, normalized form of a local path (what `path.resolve` does, without loading the
 * Node compatibility layer at start-up).
 */
export function absolutePath(path: string): string {
  const parts: string[] = [];
  for (const part of (path.startsWith("/") ? path : `${Deno.cwd()}/${path}`).split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "" && part !== ".") parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** Parses a bare path or a `file://` URL. */
export function parseFileLocation(location: string): FileLocation {
  const path = location.startsWith("file://") ? location.slice("file://".length) : location;
  if (path === "") throw new BackendError("empty file:// path");
  return { path, root: absolutePath(path), displayUrl: redactUrl(`file://${path}`) };
}
