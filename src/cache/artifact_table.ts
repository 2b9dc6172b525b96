/**
 * A cache's artifacts as a compact table, for commands that need all of them at once (`clean`):
 * no JavaScript object per artifact. Row `i` is the `i`th artifact added. Its path is kept as
 * the hash (a 64-hex one in 32 bytes) and four numbers of an `Interner`: the directory (where it
 * is the usual `HH/hh/` of the hash, only what comes before that), the name up to the hash
 * (`sstate:PN:` and the rest, which many recipes share) and what follows the hash
 * (`_TASK.SUFFIX`). Its size, last use and kind are in typed arrays beside.
 */
import { type Artifact, type ArtifactKind, artifactKind, lastUseOf } from "./artifact.ts";
import { Column } from "./column.ts";
import { Interner } from "./interner.ts";

/** 32-bit words per row: 8 of the hash, then directory, recipe, the rest of the head, tail. */
const WORDS = 12;
const DIR = 8;
const PN = 9;
const REST = 10;
const TAIL = 11;
const BITS = 14;
const CHUNK = 1 << BITS;
/** In the directory word: the directory ends in the hash's `HH/hh/`. */
const DERIVED = 0x80000000;
/** In the tail word: the tail's number, the kind, a link, a hash that is no 64-hex one. */
const TAIL_ID = 0x00ffffff;
const KIND_SHIFT = 24;
const LINK = 1 << 26;
const HASH_TEXT = 1 << 27;

const KINDS: readonly ArtifactKind[] = ["archive", "siginfo", "signature"];

/** The artifacts of a cache; see the module's comment. */
export class ArtifactTable {
  readonly strings = new Interner();
  #chunks: Uint32Array[] = [];
  #rows = 0;
  /** Sizes below 4 GiB; larger ones by row. */
  #sizes = new Column(Uint32Array);
  #largeSizes = new Map<number, number>();
  #lastUses = new Column(Float64Array);
  /** Per tail number: the number of its archive's tail (-2: not known yet, -1: none). */
  #archiveTails: number[] = [];
  /** Open addressing over the archives: row + 1 per slot (see `archiveOf`). */
  #archives: Int32Array | null = null;

  /** How many rows it has. */
  get length(): number {
    return this.#rows;
  }

  /** Bytes held by rows, columns and strings (about), for reports of memory per file. */
  get bytes(): number {
    return this.#chunks.length * CHUNK * WORDS * 4 + this.#sizes.bytes + this.#lastUses.bytes +
      this.strings.bytes + (this.#archives?.byteLength ?? 0);
  }

  /** Adds `a` as the next row (its strings are copied where kept). */
  add(a: Artifact): void {
    const { path, hash } = a;
    const nameAt = path.lastIndexOf("/") + 1;
    const tailAt = path.length - a.task.length - a.suffix.length - 2;
    const hashAt = tailAt - hash.length;
    const row = this.#rows++;
    this.#archives = null; // indexed again when asked next
    if (row >>> BITS === this.#chunks.length) this.#chunks.push(new Uint32Array(CHUNK * WORDS));
    const words = this.#chunks[row >>> BITS];
    const at = (row & (CHUNK - 1)) * WORDS;
    let flags = KINDS.indexOf(artifactKind(a.suffix)) << KIND_SHIFT;
    if (a.isLink) flags |= LINK;
    if (!hexInto(hash, words, at)) {
      words.fill(0, at, at + 8);
      words[at] = this.strings.id(hash);
      flags |= HASH_TEXT;
    }
    let dirEnd = nameAt;
    let derived = 0;
    if (
      !(flags & HASH_TEXT) && nameAt >= 6 &&
      (nameAt === 6 || path.charCodeAt(nameAt - 7) === 47 /* / */) &&
      path.charCodeAt(nameAt - 4) === 47 && path.charCodeAt(nameAt - 1) === 47 &&
      path.charCodeAt(nameAt - 6) === hash.charCodeAt(0) &&
      path.charCodeAt(nameAt - 5) === hash.charCodeAt(1) &&
      path.charCodeAt(nameAt - 3) === hash.charCodeAt(2) &&
      path.charCodeAt(nameAt - 2) === hash.charCodeAt(3)
    ) {
      dirEnd = nameAt - 6;
      derived = DERIVED;
    }
    words[at + DIR] = this.strings.id(path, 0, dirEnd) | derived;
    const pnEnd = nameAt + 8 + a.pn.length; // `sstate:PN:`
    words[at + PN] = this.strings.id(path, nameAt, pnEnd);
    words[at + REST] = this.strings.id(path, pnEnd, hashAt);
    const tail = this.strings.id(path, tailAt, path.length);
    if (tail > TAIL_ID) throw new Error("too many distinct tasks and suffixes");
    words[at + TAIL] = tail | flags;
    if (a.size < 2 ** 32) this.#sizes.set(row, a.size);
    else this.#largeSizes.set(row, a.size);
    this.#lastUses.set(row, lastUseOf(a));
  }

  /** The path of row `row`. */
  path(row: number): string {
    const words = this.#chunks[row >>> BITS];
    const at = (row & (CHUNK - 1)) * WORDS;
    const hash = this.hash(row);
    const dirWord = words[at + DIR];
    let dir = this.strings.text(dirWord & ~DERIVED);
    if (dirWord & DERIVED) dir += `${hash.slice(0, 2)}/${hash.slice(2, 4)}/`;
    return dir + this.strings.text(words[at + PN]) + this.strings.text(words[at + REST]) + hash +
      this.strings.text(words[at + TAIL] & TAIL_ID);
  }

  /** The hash of row `row`. */
  hash(row: number): string {
    const words = this.#chunks[row >>> BITS];
    const at = (row & (CHUNK - 1)) * WORDS;
    if (words[at + TAIL] & HASH_TEXT) return this.strings.text(words[at]);
    let hash = "";
    for (let w = 0; w < 8; w++) hash += words[at + w].toString(16).padStart(8, "0");
    return hash;
  }

  /** The kind of row `row`. */
  kind(row: number): ArtifactKind {
    return KINDS[(this.#word(row, TAIL) >>> KIND_SHIFT) & 3];
  }

  /** Whether row `row` is a symbolic link. */
  isLink(row: number): boolean {
    return (this.#word(row, TAIL) & LINK) !== 0;
  }

  /** The size of row `row`. */
  size(row: number): number {
    return this.#largeSizes.size > 0 && this.#largeSizes.has(row)
      ? this.#largeSizes.get(row)!
      : this.#sizes.get(row);
  }

  /** The last use of row `row` (see `lastUseOf`). */
  lastUse(row: number): number {
    return this.#lastUses.get(row);
  }

  /** The name's part up to the hash (`sstate:PN:…:`) of row `row`. */
  head(row: number): string {
    return this.strings.text(this.#word(row, PN)) + this.strings.text(this.#word(row, REST));
  }

  /** The numbers of the two parts of the name's head (see `head`) of row `row`. */
  headIds(row: number): [number, number] {
    return [this.#word(row, PN), this.#word(row, REST)];
  }

  /** The number of the name's part after the hash (`_TASK.SUFFIX`) of row `row`. */
  tail(row: number): number {
    return this.#word(row, TAIL) & TAIL_ID;
  }

  /**
   * The row of the archive that row `row` (a siginfo or signature) belongs to, or -1 if the
   * table has none. The first call indexes the archives (4 to 8 bytes per archive).
   */
  archiveOf(row: number): number {
    const tail = this.#archiveTail(this.tail(row));
    if (tail < 0) return -1;
    const table = this.#archives ??= this.#indexArchives();
    const mask = table.length - 1;
    const key = this.#key(row, tail);
    for (let slot = hashKey(key) & mask; table[slot] !== 0; slot = (slot + 1) & mask) {
      const other = table[slot] - 1;
      if (this.#equals(other, key)) return other;
    }
    return -1;
  }

  #word(row: number, word: number): number {
    return this.#chunks[row >>> BITS][(row & (CHUNK - 1)) * WORDS + word];
  }

  /** The words of row `row` that name it (flags left out), with the tail number `tail`. */
  #key(row: number, tail: number): Uint32Array {
    const at = (row & (CHUNK - 1)) * WORDS;
    const key = KEY;
    key.set(this.#chunks[row >>> BITS].subarray(at, at + WORDS));
    key[TAIL] = tail | (key[TAIL] & HASH_TEXT);
    return key;
  }

  #equals(row: number, key: Uint32Array): boolean {
    const words = this.#chunks[row >>> BITS];
    const at = (row & (CHUNK - 1)) * WORDS;
    for (let w = 0; w < WORDS - 1; w++) if (words[at + w] !== key[w]) return false;
    return (words[at + TAIL] & (TAIL_ID | HASH_TEXT)) === key[TAIL];
  }

  #archiveTail(tail: number): number {
    let archive = this.#archiveTails[tail];
    if (archive === undefined) {
      const text = this.strings.text(tail);
      const end = text.endsWith(".siginfo")
        ? text.length - 8
        : text.endsWith(".sig")
        ? text.length - 4
        : -1;
      archive = end < 0 ? -1 : this.strings.id(text, 0, end, false);
      this.#archiveTails[tail] = archive;
    }
    return archive;
  }

  #indexArchives(): Int32Array {
    let archives = 0;
    for (let row = 0; row < this.#rows; row++) if (this.kind(row) === "archive") archives++;
    let length = 1024;
    while (length * 0.6 < archives) length *= 2;
    const table = new Int32Array(length);
    for (let row = 0; row < this.#rows; row++) {
      if (this.kind(row) !== "archive") continue;
      let slot = hashKey(this.#key(row, this.tail(row))) & (length - 1);
      while (table[slot] !== 0) slot = (slot + 1) & (length - 1);
      table[slot] = row + 1;
    }
    return table;
  }
}

const KEY = new Uint32Array(WORDS);

function hashKey(key: Uint32Array): number {
  return key[0] ^ Math.imul(key[1], 0x27d4eb2d) ^ Math.imul(key[DIR], 0x9e3779b1) ^
    Math.imul(key[PN], 0x85ebca77) ^ Math.imul(key[REST], 0x165667b1) ^
    Math.imul(key[TAIL], 0xc2b2ae3d);
}

/** Writes a 64-digit lower-case hex `hash` as 8 words at `at`; false if it is no such hash. */
function hexInto(hash: string, words: Uint32Array, at: number): boolean {
  if (hash.length !== 64) return false;
  for (let w = 0; w < 8; w++) {
    let word = 0;
    for (let i = w * 8; i < w * 8 + 8; i++) {
      const c = hash.charCodeAt(i);
      const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
      if (digit < 0) return false;
      word = (word << 4) | digit;
    }
    words[at + w] = word;
  }
  return true;
}
