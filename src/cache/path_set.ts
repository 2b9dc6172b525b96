/**
 * An exact set of cache paths in about 50 bytes per path, with no JavaScript object per path.
 *
 * An artifact path `DIR/sstate:PN:…:VERSION:HASH_TASK.SUFFIX` is kept as its 64-hex hash in 32
 * bytes plus three numbers of an `Interner`: the directory (where it is the usual `HH/hh/` of the
 * hash, only what comes before that), the name up to the hash (shared by a recipe's tasks) and
 * what follows the hash. Any other path (temporary files, odd names) is kept as it is. Each entry
 * carries one flag (a `RemoteIndex` marks what a saved index listed and no listing confirmed yet).
 */
import { copyOf, Interner } from "./interner.ts";

/** 32-bit words per entry: 8 of the hash, then directory, head and tail. */
const WORDS = 11;
/** The words of one entry (saved indexes are read in pieces of whole entries). */
export const ENTRY_WORDS = WORDS;
const DIR = 8;
const HEAD = 9;
const TAIL = 10;
/** Entries per chunk: chunks are never copied as the set grows. */
const CHUNK = 1 << 14;
/** In the directory word: the entry's flag, and that the directory ends in the hash's `HH/hh/`. */
const FLAG = 0x80000000;
const DERIVED = 0x40000000;
const DIR_ID = 0x3fffffff;
/** In the tail word of an entry that was deleted (no interned string has this number). */
const DEAD = 0xffffffff;

/** What a set knows of a path: absent, present, or present and flagged. */
export type PathState = typeof ABSENT | typeof PRESENT | typeof FLAGGED;
export const ABSENT = 0;
export const PRESENT = 1;
export const FLAGGED = 2;

/** A set of cache paths; see the module's comment. */
export class PathSet {
  readonly interner: Interner;
  #chunks: Uint32Array[] = [];
  /** Entries appended (deleted ones included). */
  #entries = 0;
  #dead = 0;
  /** Open addressing: entry + 1 per slot, 0 for an empty one. */
  #table = new Int32Array(1 << 12);
  /** Paths that are no artifact names: whether each is flagged. */
  #others = new Map<string, boolean>();
  /** The key of the path parsed last. */
  #key = new Uint32Array(WORDS);

  /** `interner`: one shared with another set, so that their entries can be compared. */
  constructor(interner = new Interner()) {
    this.interner = interner;
  }

  /** How many paths it holds. */
  get size(): number {
    return this.#entries - this.#dead + this.#others.size;
  }

  /** Bytes held by entries, their table and the interner (paths kept as they are not counted). */
  get bytes(): number {
    return this.#chunks.length * CHUNK * WORDS * 4 + this.#table.byteLength + this.interner.bytes;
  }

  /** Whether the set holds `path`, and flagged or not. */
  state(path: string): PathState {
    if (!this.#parse(path, false)) {
      const flagged = this.#others.get(path);
      return flagged === undefined ? ABSENT : flagged ? FLAGGED : PRESENT;
    }
    const entry = this.#find(this.#key);
    if (entry < 0) return ABSENT;
    const chunk = this.#chunks[entry >>> 14];
    return chunk[(entry & (CHUNK - 1)) * WORDS + DIR] & FLAG ? FLAGGED : PRESENT;
  }

  /** Whether the set holds `path` (flagged or not). */
  has(path: string): boolean {
    return this.state(path) !== ABSENT;
  }

  /**
   * The entry number of `path` (stable while it is held, for columns of data beside the set),
   * or -1 if it is not held or is kept as it is (not an artifact name).
   */
  entryOf(path: string): number {
    return this.#parse(path, false) ? this.#find(this.#key) : -1;
  }

  /**
   * Adds `path` with the flag given; a path held already keeps its flag when `flagged` is set
   * and loses it otherwise. Returns its entry number (see `entryOf`).
   */
  add(path: string, flagged = false): number {
    if (!this.#parse(path, true)) {
      const was = this.#others.get(path);
      this.#others.set(was === undefined ? copyOf(path) : path, flagged && (was ?? true));
      return -1;
    }
    const key = this.#key;
    const entry = this.#find(key);
    if (entry >= 0) {
      if (!flagged) this.#chunks[entry >>> 14][(entry & (CHUNK - 1)) * WORDS + DIR] &= ~FLAG;
      return entry;
    }
    if (flagged) key[DIR] |= FLAG;
    return this.#append(key);
  }

  /** Removes `path`. */
  delete(path: string): void {
    if (!this.#parse(path, false)) {
      this.#others.delete(path);
      return;
    }
    const entry = this.#find(this.#key);
    if (entry >= 0) this.#kill(entry);
  }

  /** Flags every path. */
  flagAll(): void {
    for (let entry = 0; entry < this.#entries; entry++) {
      this.#chunks[entry >>> 14][(entry & (CHUNK - 1)) * WORDS + DIR] |= FLAG;
    }
    for (const path of this.#others.keys()) this.#others.set(path, true);
  }

  /** Removes every flagged path. */
  deleteFlagged(): void {
    for (let entry = 0; entry < this.#entries; entry++) {
      const word = this.#chunks[entry >>> 14][(entry & (CHUNK - 1)) * WORDS + DIR];
      if (word & FLAG && !this.#isDead(entry)) this.#kill(entry);
    }
    for (const [path, flagged] of this.#others) if (flagged) this.#others.delete(path);
  }

  /** Every path held, flagged or not. */
  *[Symbol.iterator](): Generator<string> {
    for (let entry = 0; entry < this.#entries; entry++) {
      if (!this.#isDead(entry)) yield this.#pathOf(entry);
    }
    yield* this.#others.keys();
  }

  /** The paths of this set that `other` (sharing this set's interner) does not hold. */
  *notIn(other: PathSet): Generator<string> {
    if (other.interner !== this.interner) throw new Error("sets with different interners");
    const key = new Uint32Array(WORDS);
    for (let entry = 0; entry < this.#entries; entry++) {
      if (this.#isDead(entry)) continue;
      const at = (entry & (CHUNK - 1)) * WORDS;
      key.set(this.#chunks[entry >>> 14].subarray(at, at + WORDS));
      key[DIR] &= ~FLAG;
      if (other.#find(key) < 0) yield this.#pathOf(entry);
    }
    for (const path of this.#others.keys()) if (!other.#others.has(path)) yield path;
  }

  /**
   * The entries as `addParts` takes them back: the count of words of the live ones, those
   * words in pieces (views, valid until the set changes), and the other paths.
   */
  parts(): { words: number; pieces: Iterable<Uint32Array>; others: string[] } {
    const chunks = this.#chunks;
    const count = this.#entries;
    const live = (entry: number) => !this.#isDead(entry);
    function* pieces(): Generator<Uint32Array> {
      for (let c = 0; c * CHUNK < count; c++) {
        const entries = Math.min(CHUNK, count - c * CHUNK);
        let from = 0;
        for (let i = 0; i <= entries; i++) {
          if (i < entries && live(c * CHUNK + i)) continue;
          if (i > from) yield chunks[c].subarray(from * WORDS, i * WORDS);
          from = i + 1;
        }
      }
    }
    return {
      words: (count - this.#dead) * WORDS,
      pieces: pieces(),
      others: [...this.#others.keys()],
    };
  }

  /**
   * Adds the entries that `parts` gave (in pieces of whole entries, their numbers those of this
   * set's interner), all with the flag `flagged`; throws if one is damaged.
   */
  addParts(pieces: Iterable<Uint32Array>, flagged: boolean): void {
    const key = new Uint32Array(WORDS);
    const strings = this.interner.count;
    for (const words of pieces) {
      if (words.length % WORDS !== 0) throw new Error("damaged entries");
      for (let at = 0; at < words.length; at += WORDS) {
        key.set(words.subarray(at, at + WORDS));
        key[DIR] &= ~FLAG;
        if ((key[DIR] & DIR_ID) >= strings || key[HEAD] >= strings || key[TAIL] >= strings) {
          throw new Error("damaged entries");
        }
        if (this.#find(key) >= 0) continue;
        if (flagged) key[DIR] |= FLAG;
        this.#append(key);
      }
    }
  }

  /**
   * Parses `path` into `#key`; false for a path that is not kept as an entry, or (unless `add`
   * is set) that has a part the interner lacks.
   */
  #parse(path: string, add: boolean): boolean {
    const key = this.#key;
    const nameAt = path.lastIndexOf("/") + 1;
    const colon = path.lastIndexOf(":");
    const tailAt = colon + 65;
    if (colon < nameAt || tailAt >= path.length || path.charCodeAt(tailAt) !== 95 /* _ */) {
      return false;
    }
    for (let w = 0; w < 8; w++) {
      let word = 0;
      for (let i = colon + 1 + w * 8, end = i + 8; i < end; i++) {
        const c = path.charCodeAt(i);
        const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
        if (digit < 0) return false;
        word = (word << 4) | digit;
      }
      key[w] = word;
    }
    // The usual directory: `…HH/hh/` with the hash's first four digits.
    let dirEnd = nameAt;
    let derived = 0;
    if (
      nameAt >= 6 && (nameAt === 6 || path.charCodeAt(nameAt - 7) === 47 /* / */) &&
      path.charCodeAt(nameAt - 4) === 47 && path.charCodeAt(nameAt - 1) === 47 &&
      path.charCodeAt(nameAt - 6) === path.charCodeAt(colon + 1) &&
      path.charCodeAt(nameAt - 5) === path.charCodeAt(colon + 2) &&
      path.charCodeAt(nameAt - 3) === path.charCodeAt(colon + 3) &&
      path.charCodeAt(nameAt - 2) === path.charCodeAt(colon + 4)
    ) {
      dirEnd = nameAt - 6;
      derived = DERIVED;
    }
    const interner = this.interner;
    const dir = interner.id(path, 0, dirEnd, add);
    const head = dir < 0 ? -1 : interner.id(path, nameAt, colon + 1, add);
    const tail = head < 0 ? -1 : interner.id(path, tailAt, path.length, add);
    if (tail < 0 || dir > DIR_ID) return false;
    key[DIR] = dir | derived;
    key[HEAD] = head;
    key[TAIL] = tail;
    return true;
  }

  #pathOf(entry: number): string {
    const words = this.#chunks[entry >>> 14];
    const at = (entry & (CHUNK - 1)) * WORDS;
    let hash = "";
    for (let w = 0; w < 8; w++) hash += words[at + w].toString(16).padStart(8, "0");
    const dirWord = words[at + DIR];
    const interner = this.interner;
    let dir = interner.text(dirWord & DIR_ID);
    if (dirWord & DERIVED) dir += `${hash.slice(0, 2)}/${hash.slice(2, 4)}/`;
    return dir + interner.text(words[at + HEAD]) + hash + interner.text(words[at + TAIL]);
  }

  #isDead(entry: number): boolean {
    return this.#chunks[entry >>> 14][(entry & (CHUNK - 1)) * WORDS + TAIL] === DEAD;
  }

  #kill(entry: number): void {
    this.#chunks[entry >>> 14][(entry & (CHUNK - 1)) * WORDS + TAIL] = DEAD;
    this.#dead++;
  }

  /** The slot hash of a key (its flag left out). */
  static #hash(key: Uint32Array): number {
    return key[0] ^ Math.imul(key[DIR] & ~FLAG, 0x9e3779b1) ^ Math.imul(key[HEAD], 0x85ebca77) ^
      Math.imul(key[TAIL], 0xc2b2ae3d);
  }

  /** The live entry equal to `key` (flag aside), or -1. */
  #find(key: Uint32Array): number {
    const table = this.#table;
    const mask = table.length - 1;
    for (let slot = PathSet.#hash(key) & mask; table[slot] !== 0; slot = (slot + 1) & mask) {
      const entry = table[slot] - 1;
      const words = this.#chunks[entry >>> 14];
      const at = (entry & (CHUNK - 1)) * WORDS;
      if (
        words[at] === key[0] && words[at + TAIL] === key[TAIL] && words[at + HEAD] === key[HEAD] &&
        ((words[at + DIR] ^ key[DIR]) & ~FLAG) === 0 && words[at + 1] === key[1] &&
        words[at + 2] === key[2] && words[at + 3] === key[3] && words[at + 4] === key[4] &&
        words[at + 5] === key[5] && words[at + 6] === key[6] && words[at + 7] === key[7]
      ) return entry;
    }
    return -1;
  }

  #append(key: Uint32Array): number {
    const entry = this.#entries++;
    if (entry >>> 14 === this.#chunks.length) this.#chunks.push(new Uint32Array(CHUNK * WORDS));
    this.#chunks[entry >>> 14].set(key, (entry & (CHUNK - 1)) * WORDS);
    if (this.#entries * 10 > this.#table.length * 7) this.#rehash();
    else this.#place(this.#table, entry);
    return entry;
  }

  #place(table: Int32Array, entry: number): void {
    const at = (entry & (CHUNK - 1)) * WORDS;
    const key = this.#chunks[entry >>> 14].subarray(at, at + WORDS);
    const mask = table.length - 1;
    let slot = PathSet.#hash(key) & mask;
    while (table[slot] !== 0) slot = (slot + 1) & mask;
    table[slot] = entry + 1;
  }

  /** A table twice as large, without the deleted entries' slots. */
  #rehash(): void {
    const table = new Int32Array(this.#table.length * 2);
    for (let entry = 0; entry < this.#entries; entry++) {
      if (!this.#isDead(entry)) this.#place(table, entry);
    }
    this.#table = table;
  }
}
