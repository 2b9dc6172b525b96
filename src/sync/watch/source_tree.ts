/**
 * The source's directories as last read, with their modification times, so that a rescan reads
 * only the directories whose entries changed since (a new name changes its directory's mtime) and
 * costs one stat per directory otherwise. A directory whose mtime was too recent when it was read
 * is read again next time: a change in the same clock tick would not show in its mtime.
 */
import type { Entry } from "../../backends/backend.ts";
import { parentOf } from "../../backends/backend.ts";
import { FileBackend } from "../../backends/file/file.ts";
import { linksNote } from "../../backends/file/tree_walk.ts";

/** How recent an mtime is too recent to trust (coarse filesystem clocks tick in seconds). */
const RACY_MS = 3000;

interface DirState {
  mtime: number;
  racy: boolean;
  children?: Set<string>;
}

/** One directory read by a walk: its path (relative, "" for the root) and its files. */
export interface DirFiles {
  dir: string;
  files: Entry[];
}

/** A local cache whose walks record what they read, for cheap rescans. */
export class WatchedSource extends FileBackend {
  #dirs = new Map<string, DirState>();
  /** Symbolic links to directories seen (never followed), each noted once. */
  #links = new Set<string>();

  /** Directories recorded. */
  get directoryCount(): number {
    return this.#dirs.size;
  }

  /**
   * Every walk (the upload engine's too) records the directories it reads; the symbolic links
   * to directories it skips are noted at its end, those not noted before.
   */
  override *directories(
    options: Parameters<FileBackend["directories"]>[0] = {},
  ): Generator<DirFiles> {
    const links: string[] = [];
    const onDirectoryLink = (path: string) => links.push(path);
    for (const read of super.directories({ ...options, onDirectoryLink })) {
      this.#record(read.dir);
      yield read;
    }
    this.#noteLinks(links, options);
  }

  /** Tells about the links of `links` not told about before (see `ListOptions.onNote`). */
  #noteLinks(links: readonly string[], options: Parameters<FileBackend["directories"]>[0]) {
    const fresh = links.filter((path) => !this.#links.has(path));
    if (fresh.length === 0) return;
    fresh.forEach((path) => this.#links.add(path));
    const note = options?.onNote ?? this.options.onNote ?? options?.onWarning;
    note?.(linksNote(this.displayUrl, fresh));
  }

  /**
   * Reads again every directory whose entries changed since it was read, and those never read;
   * the others cost a stat each. Symbolic links to directories are not followed; new ones are
   * noted (through `onWarning`) at the end.
   */
  *rescan(onWarning?: (message: string) => void): Generator<DirFiles> {
    if (!this.#dirs.has("")) {
      yield* this.directories({ metadata: false, onWarning });
      return;
    }
    const links: string[] = [];
    const pending = [""];
    while (pending.length > 0) {
      const dir = pending.pop()!;
      const state = this.#dirs.get(dir);
      const mtime = this.#mtimeOf(dir);
      if (mtime !== null && state && !state.racy && state.mtime === mtime) {
        if (state.children) pending.push(...state.children);
        continue;
      }
      const read = mtime === null ? null : this.#readOne(dir, onWarning);
      if (!read) {
        // The root must be readable: walking it reports why it is not.
        if (dir === "") yield* this.directories({ metadata: false, onWarning });
        else if (mtime === null) this.#forget(dir);
        continue;
      }
      this.#record(dir, read.subdirs);
      yield { dir, files: read.files };
      pending.push(...read.subdirs);
      links.push(...read.linked);
    }
    this.#noteLinks(links, { onWarning });
  }

  /**
   * One directory's files, subdirectories and symbolic links to directories (not followed);
   * null if unreadable.
   */
  #readOne(
    dir: string,
    onWarning?: (message: string) => void,
  ): { files: Entry[]; subdirs: string[]; linked: string[] } | null {
    const files: Entry[] = [];
    const subdirs: string[] = [];
    const linked: string[] = [];
    const abs = dir === "" ? this.root : `${this.root}/${dir}`;
    try {
      for (const e of Deno.readDirSync(abs)) {
        const path = dir === "" ? e.name : `${dir}/${e.name}`;
        if (e.isDirectory) subdirs.push(path);
        else if (e.isFile) files.push({ path, size: 0, mtime: 0 });
        else if (e.isSymlink) {
          const target = this.#statQuietly(`${abs}/${e.name}`);
          if (target?.isDirectory) linked.push(path);
          else if (target?.isFile) files.push({ path, size: 0, mtime: 0, isLink: true });
        }
      }
    } catch (err) {
      if (dir !== "" && !(err instanceof Deno.errors.NotFound)) {
        const reason = (err as Error).message.split("\n")[0].replace(/: [a-z_]+ '.*$/, "");
        onWarning?.(`skipping unreadable directory ${dir} (${reason})`);
        this.#dirs.set(dir, { mtime: -1, racy: true }); // tried again at every rescan
      }
      return null;
    }
    return { files, subdirs, linked };
  }

  #statQuietly(path: string): Deno.FileInfo | null {
    try {
      return Deno.statSync(path);
    } catch {
      return null;
    }
  }

  /**
   * A directory's modification time; null if it is gone or no directory, also when it became a
   * symbolic link (the root may be one).
   */
  #mtimeOf(dir: string): number | null {
    try {
      const info = dir === "" ? Deno.statSync(this.root) : Deno.lstatSync(`${this.root}/${dir}`);
      return info.isDirectory ? info.mtime?.getTime() ?? 0 : null;
    } catch {
      return null;
    }
  }

  /**
   * Notes a directory just read (its mtime, taken after the read, is then never too old) and,
   * when known, its subdirectories (the others are forgotten).
   */
  #record(dir: string, children?: string[]): void {
    const mtime = this.#mtimeOf(dir);
    if (mtime === null) return;
    const racy = Date.now() - mtime < RACY_MS;
    let state = this.#dirs.get(dir);
    if (state) Object.assign(state, { mtime, racy });
    else this.#dirs.set(dir, state = { mtime, racy });
    if (children) {
      const now = new Set(children);
      state.children?.forEach((child) => now.has(child) || this.#forget(child));
      state.children = now.size > 0 ? now : undefined;
    }
    if (dir === "") return;
    const parent = this.#dirs.get(parentOf(dir));
    if (parent) (parent.children ??= new Set()).add(dir);
  }

  /** Drops a directory that is gone, with everything recorded below it. */
  #forget(dir: string): void {
    const state = this.#dirs.get(dir);
    this.#dirs.delete(dir);
    state?.children?.forEach((child) => this.#forget(child));
    if (dir !== "") this.#dirs.get(parentOf(dir))?.children?.delete(dir);
  }
}
