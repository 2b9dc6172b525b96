/**
 * What a target is known to hold: filled by one listing and by every successful put, so an
 * upload (or a long-running watch) asks the target about each file at most once. It is a compact
 * `PathSet` (some 50 bytes per file). It can be saved to a file and loaded again, so that a
 * restarted daemon can start uploading before a new full listing is done (see `unconfirm`).
 */
import type { Backend, Entry, ListOptions } from "../backends/backend.ts";
import { copyOf, Interner } from "../cache/interner.ts";
import { Column } from "../cache/column.ts";
import { ENTRY_WORDS, FLAGGED, PathSet, PRESENT } from "../cache/path_set.ts";

/** The first bytes of a saved index ("ISIX", then the format's version). */
const MAGIC = [0x49, 0x53, 0x49, 0x58, 2, 0, 0, 0];
/** Bytes of the header: magic, then strings, string bytes, entry words, other paths' bytes. */
const HEADER = 24;

/** The paths a target holds, as far as this process knows. */
export class RemoteIndex {
  #set: PathSet;
  /**
   * Last uses (ms since the epoch) as a listing told them, where it was asked for them: by entry
   * of the set, and by path for the few paths the set keeps as they are.
   */
  #lastUse: Column | null = null;
  #otherLastUse = new Map<string, number>();

  /** `set`: the paths known (flagged: listed by a saved index, not confirmed yet). */
  constructor(set = new PathSet()) {
    this.#set = set;
  }

  /** The interner of the index's paths: sets sharing it compare with it quickly. */
  get interner(): Interner {
    return this.#set.interner;
  }

  /** Whether the target holds `path` (as this run's listing or puts found). */
  has(path: string): boolean {
    return this.#set.state(path) === PRESENT;
  }

  /** Whether `path` was listed by a saved index only (see `unconfirm`), not confirmed yet. */
  saved(path: string): boolean {
    return this.#set.state(path) === FLAGGED;
  }

  /**
   * Takes every path known so far (those of a saved index) as possibly gone: `has` is false for
   * each until a listing (`fill`) or `add` confirms it, and `listed` forgets those not confirmed.
   */
  unconfirm(): void {
    this.#set.flagAll();
  }

  /** Records that the target holds `path`. */
  add(path: string): void {
    this.#set.add(path);
  }

  /** Records that the target no longer holds `path`. */
  delete(path: string): void {
    this.#set.delete(path);
    this.#otherLastUse.delete(path);
  }

  /** When `path` was last used on the target, where a listing with last uses told it. */
  lastUse(path: string): number | undefined {
    const entry = this.#set.entryOf(path);
    if (entry < 0) return this.#otherLastUse.get(path);
    const when = this.#lastUse?.get(entry) ?? NaN;
    return Number.isNaN(when) ? undefined : when;
  }

  /** Records that `path` was used (marked used) at `when`. */
  used(path: string, when: number): void {
    this.#setLastUse(this.#set.entryOf(path), path, when);
  }

  #setLastUse(entry: number, path: string, when: number): void {
    // A copy: a listing's path may be a slice of a string of its whole batch.
    if (entry < 0) this.#otherLastUse.set(copyOf(path), when);
    else (this.#lastUse ??= new Column(Float64Array, NaN)).set(entry, when);
  }

  /** How many paths are known (those of a saved index included). */
  get size(): number {
    return this.#set.size;
  }

  /** The paths of `held` (sharing this index's interner) that the target does not hold. */
  missing(held: PathSet): Iterable<string> {
    return held.notIn(this.#set);
  }

  /**
   * Adds every file the target lists (names only, unless `lastUses`: then with their last use,
   * the later of modification time and recorded use), then forgets what a saved index listed
   * and the listing did not; `onBatch` sees each batch of the listing too, e.g. to find
   * leftovers of interrupted uploads.
   */
  async fill(
    target: Backend,
    options: ListOptions = {},
    onBatch?: (entries: Entry[]) => void,
    lastUses = false,
  ): Promise<void> {
    const set = this.#set;
    for await (const batch of target.list({ ...options, metadata: lastUses })) {
      for (let i = 0; i < batch.length; i++) {
        const entry = batch[i];
        const at = set.add(entry.path);
        if (lastUses) {
          this.#setLastUse(at, entry.path, Math.max(entry.mtime, entry.lastUsed ?? 0));
        }
      }
      onBatch?.(batch);
    }
    this.listed();
  }

  /** This run's view of the target is complete: what a saved index alone lists is gone. */
  listed(): void {
    this.#set.deleteFlagged();
  }

  /**
   * Writes the index to `file` (binary: the interned strings, the entries, the other paths),
   * through a temporary file and a rename.
   */
  async save(file: string): Promise<void> {
    const temp = `${file}.${Deno.pid}.tmp`;
    const { starts, bytes } = this.#set.interner.parts();
    const { words, pieces, others } = this.#set.parts();
    const text = new TextEncoder().encode(others.join("\n"));
    const header = new Uint8Array(HEADER);
    header.set(MAGIC);
    new Uint32Array(header.buffer, 8).set([starts.length, bytes.length, words, text.length]);
    const pad = new Uint8Array((4 - bytes.length % 4) % 4);
    const out = await Deno.open(temp, { write: true, create: true, truncate: true });
    try {
      const write = async (part: Uint8Array) => {
        for (let at = 0; at < part.length;) at += await out.write(part.subarray(at));
      };
      for (const part of [header, u8(starts), bytes, pad]) await write(part);
      for (const piece of pieces) await write(u8(piece));
      await write(text);
    } finally {
      out.close();
    }
    await Deno.rename(temp, file);
  }

  /**
   * An index read from a file written by `save` (or by earlier versions: one path a line);
   * empty if the file does not exist.
   */
  static async load(file: string): Promise<RemoteIndex> {
    let input: Deno.FsFile;
    try {
      input = await Deno.open(file);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return new RemoteIndex();
      throw err;
    }
    try {
      const header = new Uint8Array(HEADER);
      const got = await readFully(input, header);
      if (got < MAGIC.length || MAGIC.some((b, i) => header[i] !== b)) {
        return await loadLines(input, header.subarray(0, got));
      }
      if (got < HEADER) throw new Error("the index is truncated");
      const [strings, byteCount, wordCount, textCount] = new Uint32Array(header.buffer, 8, 4);
      const starts = new Uint32Array(strings);
      const bytes = new Uint8Array(byteCount + (4 - byteCount % 4) % 4);
      const exactly = async (part: Uint8Array) => {
        if (await readFully(input, part) < part.length) throw new Error("the index is truncated");
      };
      await exactly(u8(starts));
      await exactly(bytes);
      const set = new PathSet(Interner.restore(starts, bytes.subarray(0, byteCount)));
      // The entries in pieces, so that the file is never in memory twice.
      const piece = new Uint32Array(ENTRY_WORDS * 4096);
      for (let left = wordCount; left > 0; left -= piece.length) {
        const part = piece.subarray(0, Math.min(left, piece.length));
        await exactly(u8(part));
        set.addParts([part], false);
      }
      const text = new Uint8Array(textCount);
      await exactly(text);
      if (textCount > 0) {
        for (const path of new TextDecoder().decode(text).split("\n")) set.add(path);
      }
      return new RemoteIndex(set);
    } finally {
      input.close();
    }
  }
}

/** The bytes of a typed array. */
function u8(array: Uint32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** Reads into `into` until it is full or the file ends; how many bytes were read. */
async function readFully(file: Deno.FsFile, into: Uint8Array): Promise<number> {
  let at = 0;
  while (at < into.length) {
    const n = await file.read(into.subarray(at));
    if (n === null) break;
    at += n;
  }
  return at;
}

/** An index saved as one path a line (`first`: the bytes read already), streamed. */
async function loadLines(file: Deno.FsFile, first: Uint8Array): Promise<RemoteIndex> {
  const set = new PathSet();
  const decoder = new TextDecoder();
  let rest = "";
  const take = (chunk: Uint8Array, done: boolean) => {
    const lines = (rest + decoder.decode(chunk, { stream: !done })).split("\n");
    rest = done ? "" : lines.pop()!;
    for (const line of lines) if (line !== "") set.add(line);
  };
  take(first, false);
  const buffer = new Uint8Array(1 << 16);
  for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) {
    take(buffer.subarray(0, n), false);
  }
  take(new Uint8Array(0), true);
  return new RemoteIndex(set);
}
