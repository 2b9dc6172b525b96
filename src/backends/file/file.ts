/** `file://` (or bare path) backend: a cache in a local or mounted directory. */
import {
  type Backend,
  BackendError,
  type CallOptions,
  checkPath,
  type Entry,
  type Features,
  type Leftover,
  type ListOptions,
  parentOf,
  type PutOptions,
  type PutResult,
  type PutSource,
} from "../backend.ts";
import { Copier } from "./copier.ts";
import { TARGET_CODES, wrap } from "./fs_errors.ts";
import { HOST, tempFilesAmong, tempNameFor } from "./temp_name.ts";
import { listTree } from "./tree_lister.ts";
import { linkOnPath } from "./tree_walk.ts";
import {
  FILE_DEFAULT_JOBS,
  FILE_FEATURES,
  type FileLocation,
  parseFileLocation,
} from "./location.ts";

/** Counter behind unique temporary names within this process. */
let tempCounter = 0;

/** A cache in a directory. */
export class FileBackend implements Backend {
  readonly displayUrl: string;
  /** Absolute path of the cache root. */
  readonly root: string;
  readonly features: Features = FILE_FEATURES;
  readonly defaultJobs = FILE_DEFAULT_JOBS;
  #copier?: Copier;

  /**
   * `location` is a bare path or a `file://` URL (or one parsed already). `native: false`
   * keeps puts to the portable way of placing files (named temporary file, rename or link), for
   * tests of it; `listHelperAfterMs` is when a listing's helper thread joins (see `listTree`);
   * `onNote` takes the notes of walks whose options name no `onNote` (see `ListOptions.onNote`).
   */
  constructor(
    location: string | FileLocation,
    readonly options: {
      native?: boolean;
      listHelperAfterMs?: number;
      onNote?: (message: string) => void;
    } = {},
  ) {
    const parsed = typeof location === "string" ? parseFileLocation(location) : location;
    this.displayUrl = parsed.displayUrl;
    this.root = parsed.root;
  }

  /** Absolute path of a relative one (string concatenation: node:path's join is slow). */
  #under(rel: string): string {
    return this.root.endsWith("/") ? this.root + rel : `${this.root}/${rel}`;
  }

  #abs(path: string): string {
    return this.#under(checkPath(path));
  }

  /**
   * Refuses (as this file's failure) to `act` on a path whose parent directories include a
   * symbolic link: what it reaches lies outside the cache.
   */
  #refuseLinks(path: string, act: string): void {
    const parent = parentOf(path);
    const link = parent === "" ? null : linkOnPath(this.root, parent);
    if (link !== null) {
      throw new BackendError(`refusing to ${act} through the symbolic link ${link}`, "file");
    }
  }

  async exists(options: CallOptions = {}): Promise<boolean> {
    options.signal?.throwIfAborted();
    try {
      return (await Deno.stat(this.root)).isDirectory;
    } catch (err) {
      // ENOTDIR: a parent is a file, so the root cannot exist either.
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
        return false;
      }
      throw wrap(err, `cannot access ${this.displayUrl}`, "target");
    }
  }

  async create(options: CallOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    try {
      await Deno.mkdir(this.root, { recursive: true });
    } catch (err) {
      throw wrap(err, `cannot create ${this.displayUrl}`, "target");
    }
  }

  /** Streams the tree in batches of entries (see `listTree`). */
  list(options: ListOptions = {}): AsyncIterable<Entry[]> {
    const walk = { ...options, onNote: options.onNote ?? this.options.onNote };
    return listTree(this.root, this.displayUrl, walk, this.options.listHelperAfterMs);
  }

  async stat(path: string, options: CallOptions = {}): Promise<Entry | null> {
    const abs = this.#abs(path);
    options.signal?.throwIfAborted();
    try {
      const linkInfo = await Deno.lstat(abs);
      const info = linkInfo.isSymlink ? await Deno.stat(abs) : linkInfo;
      if (!info.isFile) return null;
      const entry: Entry = { path, size: info.size, mtime: info.mtime?.getTime() ?? 0 };
      if (linkInfo.isSymlink) entry.isLink = true;
      return entry;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw wrap(err, "");
    }
  }

  /** Starts the copy threads now: they take a few tens of milliseconds to come up. */
  prepare(): void {
    this.#startCopier().start();
  }

  #startCopier(): Copier {
    return this.#copier ??= new Copier(
      Math.max(2, Math.min(8, navigator.hardwareConcurrency)),
      undefined,
      this.options.native ?? true,
    );
  }

  /** Stores a file (see `Backend.put`); never through a symbolic link to a directory. */
  async put(path: string, source: PutSource, options: PutOptions = {}): Promise<PutResult> {
    const target = this.#abs(path);
    this.#refuseLinks(path, "write");
    const temp = tempNameFor(target, HOST, Deno.pid, ++tempCounter);
    const copier = this.#startCopier();
    try {
      return await copier.copy(
        { source: source.file, temp, target, size: source.size, exclusive: !!options.ifAbsent },
        options.signal,
      );
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      const code = (err as { code?: string }).code ?? "";
      // A missing or unreadable source is this file's problem, whatever its errno says.
      const readable = await Deno.open(source.file).then((f) => (f.close(), true), () => false);
      if (!readable) throw wrap(err, `cannot read source file ${source.file}`, "file");
      if ((code === "EACCES" || code === "EPERM") && !this.#rootWritable()) {
        throw wrap(err, `cannot write to ${this.displayUrl}`, "target");
      }
      if (TARGET_CODES.has(code)) throw wrap(err, `cannot write to ${this.displayUrl}`, "target");
      throw wrap(err, "");
    }
  }

  /** Whether new files can be created in the root (asked only after a write was refused). */
  #rootWritable(): boolean {
    try {
      const probe = Deno.makeTempFileSync({ dir: this.root, prefix: ".isar-sstate-probe-" });
      Deno.removeSync(probe);
      return true;
    } catch {
      return false;
    }
  }

  async read(path: string, options: CallOptions = {}): Promise<Uint8Array | null> {
    const abs = this.#abs(path);
    try {
      return await Deno.readFile(abs, { signal: options.signal });
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (err instanceof Deno.errors.NotFound) return null;
      throw wrap(err, "");
    }
  }

  /**
   * Deletes a file (a symbolic link itself, never what it points to). A path that leads
   * through a symbolic link to a directory is refused: it would delete outside the cache.
   */
  async delete(path: string, options: CallOptions = {}): Promise<void> {
    const abs = this.#abs(path);
    options.signal?.throwIfAborted();
    this.#refuseLinks(path, "delete");
    try {
      await Deno.remove(abs);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw wrap(err, "");
    }
  }

  /**
   * Sets the file's modification time to now, as bitbake's `touch` of a used artifact on a
   * shared directory does (a symbolic link's target, which listings report); never through a
   * symbolic link to a directory. False when the file does not exist.
   */
  async markUsed(path: string, options: CallOptions = {}): Promise<boolean> {
    const abs = this.#abs(path);
    options.signal?.throwIfAborted();
    this.#refuseLinks(path, "mark");
    try {
      const now = new Date();
      await Deno.utime(abs, now, now);
      return true;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw wrap(err, "");
    }
  }

  /** The temporary files of puts among `entries` (see temp_name.ts). */
  tempFiles(entries: Iterable<Entry>): Leftover[] {
    return tempFilesAmong(entries);
  }

  /** Deletes a temporary file a killed upload left. */
  removeLeftover(leftover: Leftover, options: CallOptions = {}): Promise<void> {
    return this.delete(leftover.path, options);
  }

  pruneEmptyDirs(dirs: Iterable<string>, options: CallOptions = {}): Promise<number> {
    const all = new Set<string>();
    for (const dir of dirs) {
      for (let d = dir; d !== "" && !all.has(d); d = parentOf(d)) all.add(checkPath(d));
    }
    // Deepest first, so that a parent is tried after all its children.
    const depth = (d: string) => d.split("/").length;
    let removed = 0;
    for (const dir of [...all].sort((a, b) => depth(b) - depth(a))) {
      options.signal?.throwIfAborted();
      const abs = this.#under(dir);
      try {
        // Neither a symbolic link nor a directory reached through one (it lies elsewhere).
        if (linkOnPath(this.root, dir) !== null || !Deno.lstatSync(abs).isDirectory) continue;
        Deno.removeSync(abs); // fails unless empty
        removed++;
      } catch {
        // not empty, or gone already
      }
    }
    return Promise.resolve(removed);
  }

  /**
   * Stops the copy threads. Every put has settled by now; a thread stopped in the middle of an
   * abandoned copy may leave its temporary file, which the next upload removes (its process is
   * gone) and `clean` removes once it is old.
   */
  close(): Promise<void> {
    this.#copier?.close();
    this.#copier = undefined;
    return Promise.resolve();
  }
}
