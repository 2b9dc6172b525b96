/** `file://` (or bare path) backend: a cache in a local or mounted directory. */
import { basename, dirname, join, resolve } from "node:path";
import { type Backend, BackendError, checkPath, type Entry } from "./backend.ts";
import { registerTempFile, unregisterTempFile } from "../sync/interrupt.ts";

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

  async *list(): AsyncIterable<Entry> {
    // Breadth-first over directories, statting each directory's files in parallel.
    const pending = [""];
    while (pending.length > 0) {
      const rel = pending.pop()!;
      const dir = rel === "" ? this.root : join(this.root, rel);
      const names: { name: string; isDirectory: boolean; isSymlink: boolean }[] = [];
      try {
        for await (const e of Deno.readDir(dir)) names.push(e);
      } catch (err) {
        if (rel === "" || !(err instanceof Deno.errors.NotFound)) {
          throw wrap(err, `cannot list ${dir}`);
        }
        continue; // a directory removed while listing
      }
      const files: Promise<Entry | null>[] = [];
      for (const e of names) {
        const path = rel === "" ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory) pending.push(path);
        else files.push(this.#entry(path, e.isSymlink));
      }
      for (const entry of await Promise.all(files)) if (entry) yield entry;
    }
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
      await Deno.mkdir(dirname(abs), { recursive: true });
      await Deno.copyFile(localFile, temp);
      using file = await Deno.open(temp, { read: true });
      await file.syncData();
      await Deno.rename(temp, abs);
    } catch (err) {
      await Deno.remove(temp).catch(() => {});
      throw wrap(err, `cannot write ${path}`);
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
      try {
        await Deno.remove(join(this.root, ...parts.slice(0, n)));
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) break; // not empty: stop pruning
      }
    }
  }

  async close(): Promise<void> {}
}
