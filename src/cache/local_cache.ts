/**
 * The local SSTATE_DIR a build writes, as `upload`, `watch`, `analyze` and `diff --cache-dir`
 * read it: walked one directory at a time (never through a symbolic link to a directory), sizes
 * looked up, and listed or read like any cache. It is never written through this.
 */
import type { CallOptions, Entry, ListOptions } from "../backends/backend.ts";
import { describeError } from "../backends/backend.ts";
import { FileBackend } from "../backends/file/file.ts";
import {
  linksNote,
  type WalkedDirectory,
  type WalkOptions,
  walkTree,
} from "../backends/file/tree_walk.ts";
import { localRoot, parseLocation } from "../backends/registry.ts";
import { schemeOf } from "../backends/url.ts";
import { InputError } from "./input_error.ts";

export type { WalkedDirectory, WalkOptions };

/** What the root of a local cache is. */
export type RootKind = "directory" | "missing" | "other";

/** The local cache in a directory. */
export class LocalCache {
  /** Absolute path of the root. */
  readonly root: string;
  /** `file://PATH`, for listings' messages. */
  readonly displayUrl: string;
  /** Reads and listings go through a file backend on the same directory. */
  readonly #files: FileBackend;

  /**
   * `path` as the command line gave it (without `file://`); `shown` is how messages name it (the
   * argument as given, redacted). `onNote` takes the notes of walks and listings whose options
   * name no `onNote` (see `ListOptions.onNote`).
   */
  constructor(
    path: string,
    readonly shown: string = path,
    readonly options: { onNote?: (message: string) => void } = {},
  ) {
    this.#files = new FileBackend(path, { onNote: options.onNote });
    this.root = this.#files.root;
    this.displayUrl = this.#files.displayUrl;
  }

  /** Whether the root is a directory, missing, or something else; an error if it cannot tell. */
  async rootKind(): Promise<RootKind> {
    try {
      return (await Deno.stat(this.root)).isDirectory ? "directory" : "other";
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return "missing";
      throw new InputError(`cannot access source ${this.shown}: ${describeError(err)}`);
    }
  }

  /**
   * Refuses a target `location` that is this directory or lies inside it: each upload would
   * upload its own copy again. Remote targets pass.
   */
  async refuseTarget(location: string): Promise<void> {
    if (schemeOf(location) !== "file") return;
    const target = parseLocation(location);
    const real = async (path: string) => {
      // The target may not exist yet: resolve its nearest existing ancestor.
      let rest = "";
      for (let p = path; p !== "/"; p = p.slice(0, p.lastIndexOf("/")) || "/") {
        try {
          return (await Deno.realPath(p)) + rest;
        } catch {
          rest = p.slice(p.lastIndexOf("/")) + rest;
        }
      }
      return path;
    };
    const [src, dst] = [await real(this.root), await real(localRoot(target)!)];
    if (dst === src || dst.startsWith(`${src}/`)) {
      throw new InputError(`target ${target.parsed.displayUrl} is inside the source ${this.shown}`);
    }
  }

  /** Whether the root exists (as a directory). */
  exists(options?: CallOptions): Promise<boolean> {
    return this.#files.exists(options);
  }

  /** Every file, in batches (see `Backend.list`). */
  list(options?: ListOptions): AsyncIterable<Entry[]> {
    return this.#files.list(options);
  }

  /** A file's content, or null if it does not exist. */
  read(path: string, options?: CallOptions): Promise<Uint8Array | null> {
    return this.#files.read(path, options);
  }

  /** The tree one directory at a time, each with its files (see `walkTree`). */
  walk(options: WalkOptions = {}): Generator<WalkedDirectory> {
    const walk = { ...options, onNote: options.onNote ?? this.options.onNote };
    return walkTree(this.root, this.displayUrl, walk);
  }

  /** The note on symbolic links to directories that walks skipped (see `WalkOptions`). */
  linksNote(paths: readonly string[]): string {
    return linksNote(this.displayUrl, paths);
  }

  /** The size of a file, or null if it is gone (synchronous: for the upload's hot path). */
  sizeOf(path: string): number | null {
    try {
      return Deno.statSync(this.root.endsWith("/") ? this.root + path : `${this.root}/${path}`)
        .size;
    } catch {
      return null;
    }
  }

  /** A file's size and modification time, or null if it is gone (synchronous, as `sizeOf`). */
  statOf(path: string): { size: number; mtime: number } | null {
    try {
      const info = Deno.statSync(
        this.root.endsWith("/") ? this.root + path : `${this.root}/${path}`,
      );
      return { size: info.size, mtime: info.mtime?.getTime() ?? 0 };
    } catch {
      return null;
    }
  }

  /** Releases what listings and reads hold. */
  close(): Promise<void> {
    return this.#files.close();
  }
}
