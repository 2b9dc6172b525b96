/**
 * Strings kept once each, by number, in one byte arena: the recipe, architecture, task and
 * directory parts that a million cache paths share. No JavaScript string is kept per entry, and a
 * lookup reads a range of a longer string without slicing it.
 */

/** Bytes of the arena at first (it doubles as needed). */
const FIRST_BYTES = 1 << 16;
/** Strings at first (the tables double as needed). */
const FIRST_STRINGS = 1 << 10;

/** Distinct one-byte (Latin-1) strings, each with a number from 0 on. */
export class Interner {
  #bytes = new Uint8Array(FIRST_BYTES);
  /** Where string `id` starts; `#starts[count]` is where the next one goes. */
  #starts = new Uint32Array(FIRST_STRINGS + 1);
  #count = 0;
  /** Open addressing: id + 1 per slot, 0 for an empty one. */
  #table = new Int32Array(FIRST_STRINGS * 2);

  /** How many strings it holds. */
  get count(): number {
    return this.#count;
  }

  /** Bytes held (arena and tables), for reports of memory per file. */
  get bytes(): number {
    return this.#bytes.byteLength + this.#starts.byteLength + this.#table.byteLength;
  }

  /**
   * The number of `text.slice(start, end)`, which is added first if it is new and `add` is set;
   * -1 if it is absent (and not added), -2 if it holds a character beyond U+00FF.
   */
  id(text: string, start = 0, end = text.length, add = true): number {
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c > 0xff) return -2;
      hash = Math.imul(hash ^ c, 0x01000193);
    }
    const table = this.#table;
    const mask = table.length - 1;
    const length = end - start;
    let slot = hash & mask;
    for (let e = table[slot]; e !== 0; slot = (slot + 1) & mask, e = table[slot]) {
      const from = this.#starts[e - 1];
      if (this.#starts[e] - from === length && this.#equals(text, start, from, length)) {
        return e - 1;
      }
    }
    if (!add) return -1;
    const id = this.#append(text, start, end);
    table[slot] = id + 1;
    if (this.#count * 2 > table.length) this.#rehash();
    return id;
  }

  /** The string numbered `id`. */
  text(id: number): string {
    const bytes = this.#bytes.subarray(this.#starts[id], this.#starts[id + 1]);
    let text = "";
    for (let i = 0; i < bytes.length; i += 4096) {
      text += String.fromCharCode(...bytes.subarray(i, i + 4096));
    }
    return text;
  }

  /** The arena and its index, as `restore` takes them back (for saving an index to a file). */
  parts(): { starts: Uint32Array; bytes: Uint8Array } {
    return {
      starts: this.#starts.subarray(0, this.#count + 1),
      bytes: this.#bytes.subarray(0, this.#starts[this.#count]),
    };
  }

  /** An interner holding the strings of `parts` under the same numbers. */
  static restore(starts: Uint32Array, bytes: Uint8Array): Interner {
    const interner = new Interner();
    const count = starts.length - 1;
    if (count < 0 || starts[0] !== 0 || starts[count] !== bytes.length) {
      throw new Error("damaged string table");
    }
    for (let id = 0; id < count; id++) {
      if (starts[id + 1] < starts[id]) throw new Error("damaged string table");
    }
    interner.#bytes = bytes.slice();
    interner.#starts = new Uint32Array(Math.max(FIRST_STRINGS, count) + 1);
    interner.#starts.set(starts);
    interner.#count = count;
    interner.#rehash();
    return interner;
  }

  #equals(text: string, start: number, from: number, length: number): boolean {
    const bytes = this.#bytes;
    for (let i = 0; i < length; i++) {
      if (bytes[from + i] !== text.charCodeAt(start + i)) return false;
    }
    return true;
  }

  #append(text: string, start: number, end: number): number {
    const id = this.#count;
    const from = this.#starts[id];
    const to = from + end - start;
    if (to > this.#bytes.length) {
      const bytes = new Uint8Array(Math.max(to, this.#bytes.length * 2));
      bytes.set(this.#bytes.subarray(0, from));
      this.#bytes = bytes;
    }
    for (let i = start; i < end; i++) this.#bytes[from + i - start] = text.charCodeAt(i);
    if (id + 2 > this.#starts.length) {
      const starts = new Uint32Array(this.#starts.length * 2);
      starts.set(this.#starts);
      this.#starts = starts;
    }
    this.#starts[id + 1] = to;
    this.#count++;
    return id;
  }

  /** Builds the table anew, twice as large as the strings need. */
  #rehash(): void {
    let size = FIRST_STRINGS * 2;
    while (size < this.#count * 4) size *= 2;
    const table = new Int32Array(size);
    const mask = size - 1;
    const bytes = this.#bytes;
    for (let id = 0; id < this.#count; id++) {
      let hash = 0x811c9dc5;
      for (let i = this.#starts[id]; i < this.#starts[id + 1]; i++) {
        hash = Math.imul(hash ^ bytes[i], 0x01000193);
      }
      let slot = hash & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = id + 1;
    }
    this.#table = table;
  }
}
