/**
 * Strings kept once each, by number: the recipe, architecture, task and directory parts that a
 * million cache paths share. A lookup reads a range of a longer string, without slicing it; the
 * strings are kept as bytes (Latin-1 ones, the usual case: no JavaScript string each), others as
 * copies that keep no longer string alive.
 */

/** Distinct strings, each with a number from 0 on. */
export class Interner {
  /** The strings of Latin-1 characters, one byte each, one after the other. */
  #bytes = new Uint8Array(1 << 12);
  /** Where string `id` starts in `#bytes` (it ends where the next one starts). */
  #starts = new Uint32Array(1 << 10);
  #count = 0;
  /** Open addressing over the Latin-1 strings: id + 1 per slot. */
  #table = new Int32Array(1 << 10);
  /** The strings with other characters, by number and by text. */
  #wide = new Map<number, string>();
  #wideIds = new Map<string, number>();

  /** How many strings it holds. */
  get count(): number {
    return this.#count;
  }

  /** Bytes held, about (strings and their tables), for reports of memory per file. */
  get bytes(): number {
    let wide = 0;
    for (const text of this.#wide.values()) wide += text.length * 2 + 64;
    return this.#starts[this.#count] + 8 * this.#count + wide;
  }

  /**
   * The number of `text.slice(start, end)`, which is added first if it is new and `add` is set;
   * -1 if it is absent (and not added).
   */
  id(text: string, start = 0, end = text.length, add = true): number {
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c > 255) return this.#wideId(text.slice(start, end), add);
      hash = Math.imul(hash ^ c, 0x01000193);
    }
    const table = this.#table;
    const mask = table.length - 1;
    let slot = hash & mask;
    for (; table[slot] !== 0; slot = (slot + 1) & mask) {
      const id = table[slot] - 1;
      if (this.#equals(id, text, start, end)) return id;
    }
    if (!add) return -1;
    const id = this.#push(end - start);
    const from = this.#starts[id];
    for (let i = start; i < end; i++) this.#bytes[from + i - start] = text.charCodeAt(i);
    table[slot] = id + 1;
    if (this.#count * 10 > table.length * 7) this.#rehash();
    return id;
  }

  /** The string numbered `id`. */
  text(id: number): string {
    const from = this.#starts[id];
    const to = this.#starts[id + 1];
    if (from === to && this.#wide.size > 0) {
      const wide = this.#wide.get(id);
      if (wide !== undefined) return wide;
    }
    return latin1(this.#bytes, from, to);
  }

  #equals(id: number, text: string, start: number, end: number): boolean {
    const from = this.#starts[id];
    if (this.#starts[id + 1] - from !== end - start) return false;
    const bytes = this.#bytes;
    for (let i = start; i < end; i++) {
      if (bytes[from + i - start] !== text.charCodeAt(i)) return false;
    }
    return !(from === this.#starts[id + 1] && this.#wide.has(id));
  }

  /** A new number for a string of `length` bytes (room made for them). */
  #push(length: number): number {
    const id = this.#count++;
    if (this.#count + 1 >= this.#starts.length) {
      const starts = new Uint32Array(this.#starts.length * 2);
      starts.set(this.#starts);
      this.#starts = starts;
    }
    const from = this.#starts[id];
    if (from + length > this.#bytes.length) {
      const bytes = new Uint8Array(Math.max(this.#bytes.length * 2, from + length));
      bytes.set(this.#bytes);
      this.#bytes = bytes;
    }
    this.#starts[id + 1] = from + length;
    return id;
  }

  #wideId(part: string, add: boolean): number {
    const id = this.#wideIds.get(part);
    if (id !== undefined || !add) return id ?? -1;
    const own = copyOf(part);
    const wide = this.#push(0);
    this.#wide.set(wide, own);
    this.#wideIds.set(own, wide);
    return wide;
  }

  #rehash(): void {
    const table = new Int32Array(this.#table.length * 2);
    const mask = table.length - 1;
    for (let id = 0; id < this.#count; id++) {
      const from = this.#starts[id];
      const to = this.#starts[id + 1];
      if (from === to && this.#wide.has(id)) continue;
      let hash = 0x811c9dc5;
      for (let i = from; i < to; i++) hash = Math.imul(hash ^ this.#bytes[i], 0x01000193);
      let slot = hash & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = id + 1;
    }
    this.#table = table;
  }

  /**
   * The strings in UTF-8, as `restore` takes them back (for saving an index to a file): where
   * each starts in `bytes`, and where the last ends.
   */
  parts(): { starts: Uint32Array; bytes: Uint8Array } {
    const encoder = new TextEncoder();
    const starts = new Uint32Array(this.#count + 1);
    let bytes = new Uint8Array(2 * this.#starts[this.#count] + 3 * this.bytes + 16);
    let at = 0;
    for (let id = 0; id < this.#count; id++) {
      starts[id] = at;
      at += encoder.encodeInto(this.text(id), bytes.subarray(at)).written;
    }
    starts[this.#count] = at;
    bytes = bytes.subarray(0, at);
    return { starts, bytes };
  }

  /** An interner holding the strings of `parts` under the same numbers. */
  static restore(starts: Uint32Array, bytes: Uint8Array): Interner {
    const count = starts.length - 1;
    if (count < 0 || starts[0] !== 0 || starts[count] !== bytes.length) {
      throw new Error("damaged string table");
    }
    const interner = new Interner();
    const decoder = new TextDecoder("utf-8", { fatal: true });
    for (let id = 0; id < count; id++) {
      if (starts[id + 1] < starts[id]) throw new Error("damaged string table");
      const text = decoder.decode(bytes.subarray(starts[id], starts[id + 1]));
      if (interner.id(text) !== id) throw new Error("damaged string table: a string twice");
    }
    return interner;
  }
}

const CODES = new Uint16Array(4096);

/** The string of the Latin-1 bytes `bytes[from, to)`. */
function latin1(bytes: Uint8Array, from: number, to: number): string {
  let text = "";
  for (let at = from; at < to; at += CODES.length) {
    const end = Math.min(to, at + CODES.length);
    for (let i = at; i < end; i++) CODES[i - at] = bytes[i];
    text += String.fromCharCode.apply(null, CODES.subarray(0, end - at) as unknown as number[]);
  }
  return text;
}

/**
 * A flat copy of `text` that holds on to no other string (a slice of a longer string would keep
 * the longer one alive).
 */
export function copyOf(text: string): string {
  if (text.length > CODES.length) return JSON.parse(JSON.stringify(text));
  for (let i = 0; i < text.length; i++) CODES[i] = text.charCodeAt(i);
  return String.fromCharCode.apply(null, CODES.subarray(0, text.length) as unknown as number[]);
}
