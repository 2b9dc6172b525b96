/** The walk of a local cache tree, shared by the file backend and its listing thread. */
import { checkPath, type Entry, type ListOptions } from "./backend.ts";
import { reasonOf, wrap } from "./fs_errors.ts";

/** One directory of a walk: its path relative to the root ("" for the root) and its files. */
export interface WalkedDirectory {
  dir: string;
  files: Entry[];
}

/**
 * The tree below `root` one directory at a time, each with its files. Directories are read
 * synchronously (one cheap syscall each), and so are the per-file stats when metadata is wanted:
 * on local disks a sync stat costs a third of an async one. Links to directories are followed (a
 * cache spread over disks by symlinked directories lists completely), each real directory once,
 * so link loops end. An unreadable directory below the root is reported and skipped; an
 * unreadable root is an error naming `displayUrl`. `from` starts the walk at that directory
 * (relative) instead of the root.
 */
export function* walkTree(
  root: string,
  displayUrl: string,
  options: ListOptions & { from?: string } = {},
): Generator<WalkedDirectory> {
  const metadata = options.metadata ?? true;
  const under = (rel: string) => root.endsWith("/") ? root + rel : `${root}/${rel}`;
  let realRoot: string | undefined;
  const linkedDirs = new Set<string>();

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

  const pending = [options.from ? checkPath(options.from) : ""];
  while (pending.length > 0) {
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
        if (e.isDirectory) pending.push(path);
        else if (!e.isSymlink) add(path, false);
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
