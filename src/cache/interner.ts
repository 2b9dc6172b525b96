/**
 * Strings kept once each, by number: the recipe, architecture, task and directory parts that a
 * million cache paths share. A lookup reads a range of a longer string; a string added is copied
 * out of it, so that the longer one (a whole path) is not kept alive by it.
 */

/** Distinct strings, each with a number from 0 on. */
export class Interner {
  #ids = new Map<string, number>();
  #texts: string[] = [];
  /** Bytes of the strings as kept (two per character at most), for reports of memory. */
  #chars = 0;

  /** How many strings it holds. */
  get count(): number {
    return this.#texts.length;
  }

  /** Bytes held, about (strings and their map), for reports of memory per file. */
  get bytes(): number {
    return this.#chars + this.#texts.length * 64;
  }

  /**
   * The number of `text.slice(start, end)`, which is added first if it is new and `add` is set;
   * -1 if it is absent (and not added).
   */
  id(text: string, start = 0, end = text.length, add = true): number {
    const part = start === 0 && end === text.length ? text : text.slice(start, end);
    const id = this.#ids.get(part);
    if (id !== undefined || !add) return id ?? -1;
    const own = copyOf(part);
    this.#ids.set(own, this.#texts.length);
    this.#texts.push(own);
    this.#chars += own.length;
    return this.#texts.length - 1;
  }

  /** The string numbered `id`. */
  text(id: number): string {
    return this.#texts[id];
  }

  /**
   * The strings in UTF-8, as `restore` takes them back (for saving an index to a file): where
   * each starts in `bytes`, and where the last ends.
   */
  parts(): { starts: Uint32Array; bytes: Uint8Array } {
    const encoder = new TextEncoder();
    const starts = new Uint32Array(this.#texts.length + 1);
    let bytes = new Uint8Array(this.#chars * 3 + 16);
    let at = 0;
    this.#texts.forEach((text, id) => {
      starts[id] = at;
      at += encoder.encodeInto(text, bytes.subarray(at)).written;
    });
    starts[this.#texts.length] = at;
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

/**
 * A flat copy of `text` that holds on to no other string (a slice of a longer string would keep
 * the longer one alive).
 */
export function copyOf(text: string): string {
  if (text.length > CODES.length) return JSON.parse(JSON.stringify(text));
  for (let i = 0; i < text.length; i++) CODES[i] = text.charCodeAt(i);
  return String.fromCharCode.apply(null, CODES.subarray(0, text.length) as unknown as number[]);
}
