/** `file://` (or bare path) backend: a cache in a local or mounted directory. */
import { basename, dirname, join, resolve } from "node:path";
import { type Backend, BackendError, checkPath, type Entry } from "./backend.ts";
import { registerTempFile, unregisterTempFile } from "../sync/interrupt.ts";

/** Directories read concurrently while listing. */
const LIST_PARALLELISM = 16;

const TRANSIENT_CODES = new Set(["EAGAIN", "EBUSY", "EINTR", "ETIMEDOUT", "EMFILE", "ENFILE"]);

function wrap(err: unknown, what: string): BackendError {
  if (err instanceof BackendError) return err;
  const code = (err as { code?: string }).code ?? "";
  const msg = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return new BackendError(`${what}: ${msg}`, TRANSIENT_CODES.has(code), { cause: err });
}

/** Name of the temporary file a put writes first, hidden and clearly not an artifact. */
function tempNameFor(finalPath: string): string {
  const random = crypto.getRandomValues(new Uint32Array(2)).join("").slice(0, 12);
  return join(dirname(finalPath), `.${basename(finalPath)}.isar-sstate-${random}.tmp`);
}

/** A cache in a directory. */
export class FileBackend implements Backend {
  readonly displayUrl: string;
  /** Absolute path of the cache root. */
  readonly root: string;
  #madeDirs = new Set<string>();

  /** `location` is a bare path or a `file://` URL. */
  constructor(location: string) {
    const path = location.startsWith("file://") ? location.slice("file://".length) : location;
    if (path === "") throw new BackendError("empty file:// path");
    this.displayUrl = `file://${path}`;
    this.root = resolve(path);
  }

  #abs(path: string): string {
    return join(this.root, checkPath(path));
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

  /** Walks directories LIST_PARALLELISM at a time, yielding each directory's files as found. */
  async *list(): AsyncIterable<Entry> {
    const pending = [""];
    const ready: Entry[][] = [];
    let active = 0;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const visit = async (rel: string) => {
      try {
        const { dirs, files } = await this.#readDirectory(rel);
        pending.push(...dirs);
        ready.push(files);
      } catch (err) {
        failure ??= err;
      } finally {
        active--;
        wake?.();
      }
    };
    while (true) {
      while (pending.length > 0 && active < LIST_PARALLELISM && failure === undefined) {
        active++;
        visit(pending.pop()!);
      }
      while (ready.length > 0) yield* ready.pop()!;
      if (failure !== undefined) throw failure;
      if (active === 0 && pending.length === 0) return;
      // Visits may have finished while the consumer held us at a yield: only sleep when
      // nothing can be started or yielded now.
      if (ready.length > 0 || (pending.length > 0 && active < LIST_PARALLELISM)) continue;
      await new Promise<void>((resolve) => wake = resolve);
      wake = undefined;
    }
  }

  /** One directory's subdirectories (relative) and file entries. */
  async #readDirectory(rel: string): Promise<{ dirs: string[]; files: Entry[] }> {
    const dir = rel === "" ? this.root : join(this.root, rel);
    const dirs: string[] = [];
    const stats: Promise<Entry | null>[] = [];
    try {
      for await (const e of Deno.readDir(dir)) {
        const path = rel === "" ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory) dirs.push(path);
        else stats.push(this.#entry(path, e.isSymlink));
      }
    } catch (err) {
      if (rel === "" || !(err instanceof Deno.errors.NotFound)) {
        throw wrap(err, `cannot list ${dir}`);
      }
      // a directory removed while listing
    }
    const files = (await Promise.all(stats)).filter((e): e is Entry => e !== null);
    return { dirs, files };
  }

  async #entry(path: string, isLink: boolean): Promise<Entry | null> {
    try {
      const info = await Deno.stat(join(this.root, path));
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
      await this.#ensureDirectory(dirname(abs));
      await Deno.copyFile(localFile, temp);
      await Deno.rename(temp, abs);
    } catch (err) {
      await Deno.remove(temp).catch(() => {});
      throw wrap(err, `cannot write ${path}`);
    } finally {
      unregisterTempFile(temp);
    }
  }

  /** mkdir -p, once per directory per run (a pruning delete forgets what it removed). */
  async #ensureDirectory(dir: string): Promise<void> {
    if (this.#madeDirs.has(dir)) return;
    await Deno.mkdir(dir, { recursive: true });
    this.#madeDirs.add(dir);
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
      const dir = join(this.root, ...parts.slice(0, n));
      this.#madeDirs.delete(dir);
      try {
        await Deno.remove(dir);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) break; // not empty: stop pruning
      }
    }
  }

  async close(): Promise<void> {}
}
