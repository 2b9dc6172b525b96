/**
 * The source's directories as last read, with their modification times, so that a rescan reads
 * only the directories whose entries changed since (a new name changes its directory's mtime) and
 * costs one stat per directory otherwise. A directory whose mtime was too recent when it was read
 * is read again next time: a change in the same clock tick would not show in its mtime.
 */
import type { Entry } from "../backends/backend.ts";
import { parentOf } from "../backends/backend.ts";
import { FileBackend } from "../backends/file.ts";

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

  /** Directories recorded. */
  get directoryCount(): number {
    return this.#dirs.size;
  }

  /** Every walk (the upload engine's too) records the directories it reads. */
  override *directories(
    options: Parameters<FileBackend["directories"]>[0] = {},
  ): Generator<DirFiles> {
    for (const read of super.directories(options)) {
      this.#record(read.dir);
      yield read;
    }
  }

  /**
   * Reads again every directory that changed since it was read, with everything below it, and
   * those never read; the others cost a stat each.
   */
  *rescan(onWarning?: (message: string) => void): Generator<DirFiles> {
    if (!this.#dirs.has("")) {
      yield* this.directories({ metadata: false, onWarning });
      return;
    }
    const pending = [""];
    while (pending.length > 0) {
      const dir = pending.pop()!;
      const state = this.#dirs.get(dir);
      const mtime = this.#mtimeOf(dir);
      if (mtime === null) {
        if (dir === "") yield* this.directories({ metadata: false, onWarning }); // throws
        this.#forget(dir);
        continue;
      }
      if (state && !state.racy && state.mtime === mtime) {
        if (state.children) pending.push(...state.children);
        continue;
      }
      yield* this.directories({ from: dir || undefined, metadata: false, onWarning });
    }
  }

  #mtimeOf(dir: string): number | null {
    try {
      const info = Deno.statSync(dir === "" ? this.root : `${this.root}/${dir}`);
      return info.isDirectory ? info.mtime?.getTime() ?? 0 : null;
    } catch {
      return null;
    }
  }

  /** Notes a directory just read (its mtime, taken after the read, is then never too old). */
  #record(dir: string): void {
    const mtime = this.#mtimeOf(dir);
    if (mtime === null) return;
    const state = this.#dirs.get(dir);
    const racy = Date.now() - mtime < RACY_MS;
    if (state) Object.assign(state, { mtime, racy });
    else this.#dirs.set(dir, { mtime, racy });
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
