/**
 * The source's directories as last read, with their modification times, so that a rescan reads
 * only the directories whose entries changed since (a new name changes its directory's mtime) and
 * costs one stat per directory otherwise. A directory whose mtime was too recent when it was read
 * is read again next time: a change in the same clock tick would not show in its mtime.
 */
import { parentOf } from "../../backends/backend.ts";
import type { LocalCache, WalkedDirectory, WalkOptions } from "../../cache/local_cache.ts";

/** How recent an mtime is too recent to trust (coarse filesystem clocks tick in seconds). */
const RACY_MS = 3000;

interface DirState {
  mtime: number;
  racy: boolean;
  children?: Set<string>;
}

/** A local cache whose walks record what they read, for cheap rescans. */
export class SourceTree {
  #dirs = new Map<string, DirState>();
  /** Symbolic links to directories seen (never followed), each noted once. */
  #links = new Set<string>();

  constructor(readonly cache: LocalCache) {}

  /** Absolute path of the source. */
  get root(): string {
    return this.cache.root;
  }

  /** Directories recorded. */
  get directoryCount(): number {
    return this.#dirs.size;
  }

  /** The size of a file, or null if it is gone. */
  sizeOf(path: string): number | null {
    return this.cache.sizeOf(path);
  }

  /** A file's size and modification time, or null if it is gone. */
  statOf(path: string): { size: number; mtime: number } | null {
    return this.cache.statOf(path);
  }

  /**
   * Walks the source (see `LocalCache.walk`), recording the directories it reads; the symbolic
   * links to directories it skips are noted at its end, those not noted before.
   */
  *walk(options: WalkOptions = {}): Generator<WalkedDirectory> {
    const links: string[] = [];
    const onDirectoryLink = (path: string) => links.push(path);
    for (const read of this.cache.walk({ ...options, onDirectoryLink })) {
      this.#record(read.dir, read.subdirs);
      yield read;
    }
    const fresh = links.filter((path) => !this.#links.has(path));
    if (fresh.length === 0) return;
    fresh.forEach((path) => this.#links.add(path));
    const note = options.onNote ?? this.cache.options.onNote ?? options.onWarning;
    note?.(this.cache.linksNote(fresh));
  }

  /**
   * Reads again every directory whose entries changed since it was read, and those never read;
   * the others cost a stat each. Symbolic links to directories are not followed; new ones are
   * noted (through `onWarning`) at the end.
   */
  rescan(onWarning?: (message: string) => void): Generator<WalkedDirectory> {
    if (!this.#dirs.has("")) return this.walk({ metadata: false, onWarning });
    return this.walk({ metadata: false, onWarning, skip: (dir) => this.#unchanged(dir) });
  }

  /**
   * The recorded subdirectories of `dir` if its entries are unchanged since it was read (it
   * need not be read again); none if it is gone (also when it became a symbolic link: the root
   * may be one); undefined if it must be read.
   */
  #unchanged(dir: string): readonly string[] | undefined {
    const state = this.#dirs.get(dir);
    const mtime = this.#mtimeOf(dir);
    if (mtime === null) {
      if (dir === "") return undefined; // reading it reports why it cannot be read
      this.#forget(dir);
      return [];
    }
    if (state && !state.racy && state.mtime === mtime) return [...state.children ?? []];
    return undefined;
  }

  /**
   * A directory's modification time; null if it is gone or no directory, also when it became a
   * symbolic link (the root may be one).
   */
  #mtimeOf(dir: string): number | null {
    const root = this.cache.root;
    try {
      const info = dir === "" ? Deno.statSync(root) : Deno.lstatSync(`${root}/${dir}`);
      return info.isDirectory ? info.mtime?.getTime() ?? 0 : null;
    } catch {
      return null;
    }
  }

  /**
   * Notes a directory just read (its mtime, taken after the read, is then never too old) and its
   * subdirectories (the others are forgotten).
   */
  #record(dir: string, children: string[]): void {
    const mtime = this.#mtimeOf(dir);
    if (mtime === null) return;
    const racy = Date.now() - mtime < RACY_MS;
    let state = this.#dirs.get(dir);
    if (state) Object.assign(state, { mtime, racy });
    else this.#dirs.set(dir, state = { mtime, racy });
    const now = new Set(children);
    state.children?.forEach((child) => now.has(child) || this.#forget(child));
    state.children = now.size > 0 ? now : undefined;
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

  /** Releases what the source's reads hold. */
  close(): Promise<void> {
    return this.cache.close();
  }
}
