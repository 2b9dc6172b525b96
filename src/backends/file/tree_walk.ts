/**
 * The walk of a local cache tree, shared by the file backend, its listing thread and the local
 * SSTATE_DIR (cache/local_cache.ts, and a watch's rescans).
 */
import { checkPath, type Entry, type ListOptions } from "../backend.ts";
import { reasonOf, wrap } from "./fs_errors.ts";

/**
 * One directory of a walk: its path relative to the root ("" for the root), its files and its
 * subdirectories (relative paths; not the symbolic links to directories).
 */
export interface WalkedDirectory {
  dir: string;
  files: Entry[];
  subdirs: string[];
}

/** How a walk shares the root's subdirectories with walks on other threads. */
export interface WalkShare {
  /** The root's subdirectories to share (names, as read once before the walks start). */
  names: readonly string[];
  /** Claims the next of them: its index, or one past the end when none is left. */
  claim: () => number;
}

/** What a walk is asked besides a listing's options. */
export interface WalkOptions extends ListOptions {
  /** Start at this directory (relative) instead of the root. */
  from?: string;
  /** The root's subdirectories `share.names` are walked only as far as this walk claims them. */
  share?: WalkShare;
  /** Walk only claimed subdirectories, not the root itself. */
  claimedOnly?: boolean;
  /**
   * Symbolic links to directories (never followed) are handed here. Without it, the walk tells
   * `onNote` (else `onWarning`) about them once at its end, with their count.
   */
  onDirectoryLink?: (path: string) => void;
  /**
   * Asked before a directory is read: subdirectories returned instead mean that it is not read
   * (its entries are known to be unchanged) and the walk goes on with those. Undefined: read it.
   */
  skip?: (dir: string) => readonly string[] | undefined;
}

/** How many skipped links a note names. */
const NAMED_LINKS = 3;

/** The one line that tells about symbolic links to directories a walk did not follow. */
export function linksNote(displayUrl: string, paths: readonly string[]): string {
  const sorted = [...paths].sort();
  const named = sorted.slice(0, NAMED_LINKS).join(", ") +
    (sorted.length > NAMED_LINKS ? ", …" : "");
  const what = sorted.length === 1
    ? "1 symbolic link to a directory"
    : `${sorted.length} symbolic links to directories`;
  return `skipped ${what} in ${displayUrl} (links to directories are not followed): ${named}`;
}

/**
 * Where `rel` (a directory below `root`) is reached through a symbolic link: the first such
 * ancestor (or `rel` itself), null if none is. Missing components count as no link.
 */
export function linkOnPath(root: string, rel: string): string | null {
  let path = "";
  for (const part of rel.split("/")) {
    path = path === "" ? part : `${path}/${part}`;
    try {
      if (Deno.lstatSync(`${root}/${path}`).isSymlink) return path;
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * The tree below `root` one directory at a time, each with its files. Directories are read
 * synchronously (one cheap syscall each), and so are the per-file stats when metadata is wanted:
 * on local disks a sync stat costs a third of an async one. The walk never leaves the tree:
 * symbolic links to directories are not followed (whatever they point to: the root, a parent,
 * another cache, themselves) but reported (see `WalkOptions.onDirectoryLink`); links to files
 * are listed as files with `isLink`. An unreadable directory below the root is reported and
 * skipped; an unreadable root is an error naming `displayUrl`. Walks on several threads share
 * the work through `options.share` (see `WalkOptions`).
 */
export function* walkTree(
  root: string,
  displayUrl: string,
  options: WalkOptions = {},
): Generator<WalkedDirectory> {
  const metadata = options.metadata ?? true;
  const under = (rel: string) => root.endsWith("/") ? root + rel : `${root}/${rel}`;
  const { share } = options;
  const shared = new Set(share?.names);
  const links: string[] = [];
  const onDirectoryLink = options.onDirectoryLink ?? ((path: string) => links.push(path));

  const entryOf = (path: string, info: Deno.FileInfo, isLink: boolean): Entry => {
    const entry: Entry = { path, size: info.size, mtime: info.mtime?.getTime() ?? 0 };
    if (isLink) entry.isLink = true;
    return entry;
  };
  const statOf = (path: string): Deno.FileInfo | null => {
    try {
      return Deno.statSync(under(path));
    } catch {
      return null; // vanished, or a dangling link
    }
  };

  const pending: string[] = [];
  if (!options.claimedOnly) {
    const from = options.from ? checkPath(options.from) : "";
    const link = from === "" ? null : linkOnPath(root, from);
    if (link === null) pending.push(from);
    else onDirectoryLink(link);
  }
  for (;;) {
    if (pending.length === 0) {
      const claimed = share?.claim() ?? 0;
      if (!share || claimed >= share.names.length) break;
      pending.push(share.names[claimed]);
    }
    options.signal?.throwIfAborted();
    const rel = pending.pop()!;
    const known = options.skip?.(rel);
    if (known) {
      pending.push(...known);
      continue;
    }
    const files: Entry[] = [];
    const subdirs: string[] = [];
    try {
      for (const e of Deno.readDirSync(rel === "" ? root : under(rel))) {
        const path = rel === "" ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory) {
          subdirs.push(path);
          if (rel !== "" || !shared.has(path)) pending.push(path);
        } else if (!e.isSymlink) {
          if (!metadata) files.push({ path, size: 0, mtime: 0 });
          else {
            const info = statOf(path);
            if (info?.isFile) files.push(entryOf(path, info, false));
          }
        } else {
          const info = statOf(path);
          if (info?.isDirectory) onDirectoryLink(path);
          else if (info?.isFile) files.push(entryOf(path, info, true));
        }
      }
    } catch (err) {
      if (rel === "") throw wrap(err, `cannot list ${displayUrl}`, "target");
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
        continue; // removed meanwhile
      }
      options.onWarning?.(`skipping unreadable directory ${rel} (${reasonOf(err)})`);
      continue;
    }
    yield { dir: rel, files, subdirs };
  }
  if (links.length > 0) (options.onNote ?? options.onWarning)?.(linksNote(displayUrl, links));
}
