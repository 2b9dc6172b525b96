/** `file://` (or bare path) backend: a cache in a local or mounted directory. */
import { resolve } from "node:path";
import { type Backend, BackendError, checkPath, type Entry, type ListOptions } from "./backend.ts";
import { Copier } from "./copier.ts";
import {
  addInterruptHook,
  registerTempFile,
  removeInterruptHook,
  unregisterTempFile,
} from "../sync/interrupt.ts";

/** File stats in flight while listing. */
const STAT_WINDOW = 64;

const TRANSIENT_CODES = new Set(["EAGAIN", "EBUSY", "EINTR", "ETIMEDOUT", "EMFILE", "ENFILE"]);

function wrap(err: unknown, what: string): BackendError {
  if (err instanceof BackendError) return err;
  const code = (err as { code?: string }).code ?? "";
  const msg = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return new BackendError(`${what}: ${msg}`, TRANSIENT_CODES.has(code), { cause: err, code });
}

/** Unique per process: pid plus a counter, so concurrent uploaders never share a temp name. */
let tempCounter = 0;

/** Name of the temporary file a put writes first, hidden and clearly not an artifact. */
function tempNameFor(finalPath: string): string {
  const slash = finalPath.lastIndexOf("/");
  const [dir, name] = [finalPath.slice(0, slash + 1), finalPath.slice(slash + 1)];
  return `${dir}.${name}.isar-sstate-${Deno.pid}-${++tempCounter}.tmp`;
}

/** A cache in a directory. */
export class FileBackend implements Backend {
  readonly displayUrl: string;
  /** Absolute path of the cache root. */
  readonly root: string;
  readonly defaultJobs = 64;
  #realRootPath?: string;
  #copier = new Copier(Math.max(2, Math.min(8, navigator.hardwareConcurrency)));
  #interrupt = () => this.#copier.interrupt();

  /** `location` is a bare path or a `file://` URL. */
  constructor(location: string) {
    const path = location.startsWith("file://") ? location.slice("file://".length) : location;
    if (path === "") throw new BackendError("empty file:// path");
    this.displayUrl = `file://${path}`;
    this.root = resolve(path);
    addInterruptHook(this.#interrupt);
  }

  /** Absolute path of a relative one (string concatenation: node:path's join is slow). */
  #under(rel: string): string {
    return this.root.endsWith("/") ? this.root + rel : `${this.root}/${rel}`;
  }

  #abs(path: string): string {
    return this.#under(checkPath(path));
  }

  async exists(): Promise<boolean> {
    try {
      return (await Deno.stat(this.root)).isDirectory;
    } catch {
      return false;
    }
  }

  async create(): Promise<void> {
    try {
      await Deno.mkdir(this.root, { recursive: true });
    } catch (err) {
      throw wrap(err, `cannot create ${this.displayUrl}`);
    }
  }

  /**
   * Streams the tree: directories are read synchronously (one cheap syscall each), while the
   * per-file stats, which dominate on network filesystems, run STAT_WINDOW at a time.
   */
  async *list(options: ListOptions = {}): AsyncIterable<Entry> {
    const metadata = options.metadata ?? true;
    const inFlight: Promise<Entry | null>[] = [];
    for (const { path, isSymlink } of this.#walk()) {
      if (!metadata && !isSymlink) {
        yield { path, size: 0, mtime: 0, isLink: false };
        continue;
      }
      inFlight.push(this.#entry(path, isSymlink));
      if (inFlight.length >= STAT_WINDOW) {
        const entry = await inFlight.shift()!;
        if (entry) yield entry;
      }
    }
    for (const pending of inFlight) {
      const entry = await pending;
      if (entry) yield entry;
    }
  }

  /**
   * Every file below the root. Links to directories are followed (a cache spread over disks by
   * symlinked directories lists completely), each real directory once, so link loops end.
   */
  *#walk(): Generator<{ path: string; isSymlink: boolean }> {
    const pending = [""];
    const linkedDirs = new Set<string>();
    while (pending.length > 0) {
      const rel = pending.pop()!;
      const dir = rel === "" ? this.root : this.#under(rel);
      let entries: Deno.DirEntry[];
      try {
        entries = [...Deno.readDirSync(dir)];
      } catch (err) {
        if (rel !== "" && err instanceof Deno.errors.NotFound) continue; // removed meanwhile
        throw wrap(err, `cannot list ${dir}`);
      }
      for (const e of entries) {
        const path = rel === "" ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory) pending.push(path);
        else if (!e.isSymlink) yield { path, isSymlink: false };
        else {
          const kind = this.#linkKind(path, linkedDirs);
          if (kind === "directory") pending.push(path);
          else if (kind === "file") yield { path, isSymlink: true };
        }
      }
    }
  }

  /**
   * What a symlink is for the walk: a file, a directory outside the cache to walk (once), or
   * something to skip (a directory inside the cache or above it, walked anyway or a loop).
   */
  #linkKind(path: string, seen: Set<string>): "file" | "directory" | "skip" {
    try {
      const full = this.#under(path);
      if (!Deno.statSync(full).isDirectory) return "file";
      const real = `${Deno.realPathSync(full)}/`;
      const root = `${this.#realRoot()}/`;
      if (seen.has(real) || real.startsWith(root) || root.startsWith(real)) return "skip";
      seen.add(real);
      return "directory";
    } catch {
      return "file"; // dangling: its stat fails and the listing leaves it out
    }
  }

  #realRoot(): string {
    return this.#realRootPath ??= Deno.realPathSync(this.root);
  }

  async #entry(path: string, isLink: boolean): Promise<Entry | null> {
    try {
      const info = await Deno.stat(this.#under(path));
      if (!info.isFile) return null; // links to directories are not walked, like os.walk
      return { path, size: info.size, mtime: info.mtime?.getTime() ?? 0, isLink };
    } catch {
      return null; // vanished, or a dangling link
    }
  }

  async stat(path: string): Promise<Entry | null> {
    const abs = this.#abs(path);
    try {
      const linkInfo = await Deno.lstat(abs);
      const info = linkInfo.isSymlink ? await Deno.stat(abs) : linkInfo;
      if (!info.isFile) return null;
      return {
        path,
        size: info.size,
        mtime: info.mtime?.getTime() ?? 0,
        isLink: linkInfo.isSymlink,
      };
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw wrap(err, `cannot stat ${path}`);
    }
  }

  async put(path: string, localFile: string): Promise<void> {
    const abs = this.#abs(path);
    const temp = tempNameFor(abs);
    registerTempFile(temp);
    try {
      await this.#copier.copy(localFile, temp, abs);
    } catch (err) {
      throw wrap(err, "write failed");
    } finally {
      unregisterTempFile(temp);
    }
  }

  async read(path: string): Promise<Uint8Array | null> {
    try {
      return await Deno.readFile(this.#abs(path));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw wrap(err, `cannot read ${path}`);
    }
  }

  async delete(path: string): Promise<void> {
    try {
      await Deno.remove(this.#abs(path));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw wrap(err, `cannot delete ${path}`);
    }
    const parts = path.split("/").slice(0, -1);
    for (let n = parts.length; n > 0; n--) {
      const dir = this.#under(parts.slice(0, n).join("/"));
      try {
        // A symlinked directory is part of the cache's layout: never unlink it.
        if (!(await Deno.lstat(dir)).isDirectory) break;
        await Deno.remove(dir);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) break; // not empty: stop pruning
      }
    }
  }

  close(): Promise<void> {
    removeInterruptHook(this.#interrupt);
    this.#copier.close();
    return Promise.resolve();
  }
}
