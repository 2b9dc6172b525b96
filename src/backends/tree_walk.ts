/** The walk of a local cache tree, shared by the file backend and its listing thread. */
import { checkPath, type Entry, type ListOptions } from "./backend.ts";
import { reasonOf, wrap } from "./fs_errors.ts";

/** One directory of a walk: its path relative to the root ("" for the root) and its files. */
export interface WalkedDirectory {
  dir: string;
  files: Entry[];
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
  /** Walk only claimed subdirectories and `links`, not the root itself. */
  claimedOnly?: boolean;
  /** Real paths of the linked directories walked already: shared by the walks of one listing. */
  linkedDirs?: Set<string>;
  /** Links to directories are handed here instead of followed (another walk follows them). */
  onLinkedDirectory?: (path: string) => void;
  /** Symbolic links (relative paths) to follow as found in a walk, e.g. handed over by another. */
  links?: readonly string[];
}

/**
 * The tree below `root` one directory at a time, each with its files. Directories are read
 * synchronously (one cheap syscall each), and so are the per-file stats when metadata is wanted:
 * on local disks a sync stat costs a third of an async one. Links to directories are followed (a
 * cache spread over disks by symlinked directories lists completely), each real directory once,
 * so link loops end. An unreadable directory below the root is reported and skipped; an
 * unreadable root is an error naming `displayUrl`. Walks on several threads share the work
 * through `options.share` (see `WalkOptions`).
 */
export function* walkTree(
  root: string,
  displayUrl: string,
  options: WalkOptions = {},
): Generator<WalkedDirectory> {
  const metadata = options.metadata ?? true;
  const under = (rel: string) => root.endsWith("/") ? root + rel : `${root}/${rel}`;
  let realRoot: string | undefined;
  const linkedDirs = options.linkedDirs ?? new Set<string>();
  const { share, onLinkedDirectory } = options;
  const shared = new Set(share?.names);

  /** What a symlink is: a file, a directory outside the cache to walk (once), or to skip. */
  const linkKind = (path: string): "file" | "directory" | "skip" => {
    try {
      const full = under(path);
      if (!Deno.statSync(full).isDirectory) return "file";
      const real = `${Deno.realPathSync(full)}/`;
      const top = `${realRoot ??= Deno.realPathSync(root)}/`;
      // A directory inside the cache or above it is walked anyway, or would loop.
      if (linkedDirs.has(real) || real.startsWith(top) || top.startsWith(real)) return "skip";
      linkedDirs.add(real);
      return "directory";
    } catch {
      return "file"; // dangling: its stat fails and the listing leaves it out
    }
  };

  const isDirectoryLink = (full: string): boolean => {
    try {
      return Deno.statSync(full).isDirectory;
    } catch {
      return false;
    }
  };

  const entryOf = (path: string, isLink: boolean): Entry | null => {
    try {
      const info = Deno.statSync(under(path));
      if (!info.isFile) return null;
      const entry: Entry = { path, size: info.size, mtime: info.mtime?.getTime() ?? 0 };
      if (isLink) entry.isLink = true;
      return entry;
    } catch {
      return null; // vanished, or a dangling link
    }
  };

  const pending = options.claimedOnly ? [] : [options.from ? checkPath(options.from) : ""];
  for (const link of options.links ?? []) {
    if (linkKind(link) === "directory") pending.push(link);
  }
  for (;;) {
    if (pending.length === 0) {
      const claimed = share?.claim() ?? 0;
      if (!share || claimed >= share.names.length) break;
      pending.push(share.names[claimed]);
    }
    options.signal?.throwIfAborted();
    const rel = pending.pop()!;
    const files: Entry[] = [];
    const add = (path: string, isLink: boolean) => {
      if (!metadata && !isLink) files.push({ path, size: 0, mtime: 0 });
      else {
        const entry = entryOf(path, isLink);
        if (entry) files.push(entry);
      }
    };
    try {
      for (const e of Deno.readDirSync(rel === "" ? root : under(rel))) {
        const path = rel === "" ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory) {
          if (rel !== "" || !shared.has(path)) pending.push(path);
        } else if (!e.isSymlink) add(path, false);
        else if (onLinkedDirectory && isDirectoryLink(under(path))) onLinkedDirectory(path);
        else {
          const kind = linkKind(path);
          if (kind === "directory") pending.push(path);
          else if (kind === "file") add(path, true);
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
    yield { dir: rel, files };
  }
}
