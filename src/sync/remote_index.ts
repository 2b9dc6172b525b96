/**
 * What a target is known to hold: filled by one listing and by every successful put, so an
 * upload (or a long-running watch) asks the target about each file at most once. It can be
 * saved to a file and loaded again, so a restarted daemon can start uploading before a new
 * full listing is done.
 */
import type { Backend, Entry, ListOptions } from "../backends/backend.ts";

/** The paths a target holds, as far as this process knows. */
export class RemoteIndex {
  #paths = new Set<string>();
  /** Last uses (ms since the epoch) as the listing told them, where it was asked for them. */
  #lastUse = new Map<string, number>();

  /** Whether the target holds `path`. */
  has(path: string): boolean {
    return this.#paths.has(path);
  }

  /** Records that the target holds `path`. */
  add(path: string): void {
    this.#paths.add(path);
  }

  /** Records that the target no longer holds `path`. */
  delete(path: string): void {
    this.#paths.delete(path);
    this.#lastUse.delete(path);
  }

  /** When `path` was last used on the target, where a listing with last uses told it. */
  lastUse(path: string): number | undefined {
    return this.#lastUse.get(path);
  }

  /** Records that `path` was used (marked used) at `when`. */
  used(path: string, when: number): void {
    this.#lastUse.set(path, when);
  }

  /** How many paths are known. */
  get size(): number {
    return this.#paths.size;
  }

  /**
   * Adds every file the target lists (names only, unless `lastUses`: then with their last use,
   * the later of modification time and recorded use); `onBatch` sees each batch of the listing
   * too, e.g. to find leftovers of interrupted uploads.
   */
  async fill(
    target: Backend,
    options: ListOptions = {},
    onBatch?: (entries: Entry[]) => void,
    lastUses = false,
  ): Promise<void> {
    for await (const batch of target.list({ ...options, metadata: lastUses })) {
      for (const entry of batch) {
        this.#paths.add(entry.path);
        if (lastUses) this.#lastUse.set(entry.path, Math.max(entry.mtime, entry.lastUsed ?? 0));
      }
      onBatch?.(batch);
    }
  }

  /** Writes the index to `file` (one path a line, via a temporary file and a rename). */
  async save(file: string): Promise<void> {
    const temp = `${file}.${Deno.pid}.tmp`;
    await Deno.writeTextFile(temp, [...this.#paths].join("\n"));
    await Deno.rename(temp, file);
  }

  /** An index read from a file written by `save`; empty if the file does not exist. */
  static async load(file: string): Promise<RemoteIndex> {
    const index = new RemoteIndex();
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return index;
      throw err;
    }
    for (const line of text.split("\n")) if (line !== "") index.add(line);
    return index;
  }
}
