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

/** 32-bit words per row: 8 of the hash, then recipe, the rest of the head, and `META`. */
const WORDS = 11;
const PN = 8;
const REST = 9;
const META = 10;
const BITS = 14;
const CHUNK = 1 << BITS;
/**
 * In the meta word: the tail's number, the directory's, whether the directory ends in the hash's
 * `HH/hh/`, the kind, a link, a hash that is no 64-hex one (kept as text), and numbers too large
 * for their bits (kept in a map by row).
 */
const TAIL_BITS = 14;
const DIR_SHIFT = 14;
const DIR_BITS = 12;
const DERIVED = 1 << 26;
const KIND_SHIFT = 27;
const LINK = 1 << 29;
const HASH_TEXT = 1 << 30;
const WIDE = 2 ** 31;
/** The bits that two rows naming the same file share (numbers aside). */
const SAME = DERIVED | HASH_TEXT | WIDE;

const KINDS: readonly ArtifactKind[] = ["archive", "siginfo", "signature"];
const MS_NONE = 0xffff;

/** The artifacts of a cache; see the module's comment. */
export class ArtifactTable {
  readonly strings = new Interner();
  #chunks: Uint32Array[] = [];
  #rows = 0;
  /** Directory and tail numbers of rows whose numbers do not fit their bits. */
  #wide = new Map<number, [number, number]>();
  /** Sizes below 4 GiB; larger ones by row. */
  #sizes = new Column(Uint32Array);
  #largeSizes = new Map<number, number>();
  /** Last uses as seconds and milliseconds (MS_NONE: by row in `#otherUses`). */
  #useSeconds = new Column(Uint32Array);
  #useMs = new Column(Uint16Array);
  #otherUses = new Map<number, number>();
  /** Per tail number: the number of its archive's tail (-1: none). */
  #archiveTails: number[] = [];
  /** Open addressing over the archives: row + 1 per slot (see `archiveOf`). */
  #archives: Int32Array | null = null;

  /** How many rows it has. */
  get length(): number {
    return this.#rows;
  }

  /** Bytes held by rows, columns and strings (about), for reports of memory per file. */
  get bytes(): number {
    return this.#chunks.length * CHUNK * WORDS * 4 + this.#sizes.bytes + this.#useSeconds.bytes +
      this.#useMs.bytes + this.strings.bytes + (this.#archives?.byteLength ?? 0);
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
    let meta = KINDS.indexOf(artifactKind(a.suffix)) << KIND_SHIFT;
    if (a.isLink) meta |= LINK;
    if (!hexInto(hash, words, at)) {
      words.fill(0, at, at + 8);
      words[at] = this.strings.id(hash);
      meta |= HASH_TEXT;
    }
    let dirEnd = nameAt;
    if (
      !(meta & HASH_TEXT) && nameAt >= 6 &&
      (nameAt === 6 || path.charCodeAt(nameAt - 7) === 47 /* / */) &&
      path.charCodeAt(nameAt - 4) === 47 && path.charCodeAt(nameAt - 1) === 47 &&
      path.charCodeAt(nameAt - 6) === hash.charCodeAt(0) &&
      path.charCodeAt(nameAt - 5) === hash.charCodeAt(1) &&
      path.charCodeAt(nameAt - 3) === hash.charCodeAt(2) &&
      path.charCodeAt(nameAt - 2) === hash.charCodeAt(3)
    ) {
      dirEnd = nameAt - 6;
      meta |= DERIVED;
    }
    const dir = this.strings.id(path, 0, dirEnd);
    const pnEnd = nameAt + 8 + a.pn.length; // `sstate:PN:`
    words[at + PN] = this.strings.id(path, nameAt, pnEnd);
    words[at + REST] = this.strings.id(path, pnEnd, hashAt);
    const tail = this.strings.id(path, tailAt, path.length);
    if (dir < 2 ** DIR_BITS && tail < 2 ** TAIL_BITS) meta |= (dir << DIR_SHIFT) | tail;
    else {
      meta |= WIDE;
      this.#wide.set(row, [dir, tail]);
    }
    words[at + META] = meta >>> 0;
    if (a.size < 2 ** 32) this.#sizes.set(row, a.size);
    else this.#largeSizes.set(row, a.size);
    const use = lastUseOf(a);
    const seconds = Math.floor(use / 1000);
    if (Number.isInteger(use) && seconds >= 0 && seconds < 2 ** 32) {
      this.#useSeconds.set(row, seconds);
      this.#useMs.set(row, use - seconds * 1000);
    } else {
      this.#useMs.set(row, MS_NONE);
      this.#otherUses.set(row, use);
    }
  }

  /** The path of row `row`. */
  path(row: number): string {
    const hash = this.hash(row);
    let dir = this.strings.text(this.#dir(row));
    if (this.#meta(row) & DERIVED) dir += `${hash.slice(0, 2)}/${hash.slice(2, 4)}/`;
    return dir + this.head(row) + hash + this.strings.text(this.tail(row));
  }

  /** The hash of row `row`. */
  hash(row: number): string {
    const words = this.#chunks[row >>> BITS];
    const at = (row & (CHUNK - 1)) * WORDS;
    if (words[at + META] & HASH_TEXT) return this.strings.text(words[at]);
    let hash = "";
    for (let w = 0; w < 8; w++) hash += words[at + w].toString(16).padStart(8, "0");
    return hash;
  }

  /** The kind of row `row`. */
  kind(row: number): ArtifactKind {
    return KINDS[(this.#meta(row) >>> KIND_SHIFT) & 3];
  }

  /** Whether row `row` is a symbolic link. */
  isLink(row: number): boolean {
    return (this.#meta(row) & LINK) !== 0;
  }

  /** The size of row `row`. */
  size(row: number): number {
    return this.#largeSizes.size > 0 && this.#largeSizes.has(row)
      ? this.#largeSizes.get(row)!
      : this.#sizes.get(row);
  }

  /** The last use of row `row` (see `lastUseOf`). */
  lastUse(row: number): number {
    const ms = this.#useMs.get(row);
    return ms === MS_NONE ? this.#otherUses.get(row)! : this.#useSeconds.get(row) * 1000 + ms;
  }

  /** The name's part up to the hash (`sstate:PN:…:`) of row `row`. */
  head(row: number): string {
    const [pn, rest] = this.headIds(row);
    return this.strings.text(pn) + this.strings.text(rest);
  }

  /** The numbers of the two parts of the name's head (see `head`) of row `row`. */
  headIds(row: number): [number, number] {
    const at = (row & (CHUNK - 1)) * WORDS;
    const words = this.#chunks[row >>> BITS];
    return [words[at + PN], words[at + REST]];
  }

  /** The number of the name's part after the hash (`_TASK.SUFFIX`) of row `row`. */
  tail(row: number): number {
    const meta = this.#meta(row);
    return meta & WIDE ? this.#wide.get(row)![1] : meta & (2 ** TAIL_BITS - 1);
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
    for (let slot = this.#hashOf(row, tail) & mask; table[slot] !== 0; slot = (slot + 1) & mask) {
      const other = table[slot] - 1;
      if (this.#same(other, row, tail)) return other;
    }
    return -1;
  }

  #meta(row: number): number {
    return this.#chunks[row >>> BITS][(row & (CHUNK - 1)) * WORDS + META];
  }

  #dir(row: number): number {
    const meta = this.#meta(row);
    return meta & WIDE ? this.#wide.get(row)![0] : (meta >>> DIR_SHIFT) & (2 ** DIR_BITS - 1);
  }

  /** The slot hash of row `row` named with the tail `tail`. */
  #hashOf(row: number, tail: number): number {
    const words = this.#chunks[row >>> BITS];
    const at = (row & (CHUNK - 1)) * WORDS;
    return words[at] ^ Math.imul(words[at + 1], 0x27d4eb2d) ^
      Math.imul(words[at + PN], 0x85ebca77) ^ Math.imul(words[at + REST], 0x165667b1) ^
      Math.imul(this.#dir(row), 0x9e3779b1) ^ Math.imul(tail, 0xc2b2ae3d);
  }

  /** Whether row `archive` is row `row` named with the tail `tail`. */
  #same(archive: number, row: number, tail: number): boolean {
    const a = this.#chunks[archive >>> BITS];
    const aAt = (archive & (CHUNK - 1)) * WORDS;
    const r = this.#chunks[row >>> BITS];
    const rAt = (row & (CHUNK - 1)) * WORDS;
    for (let w = 0; w < META; w++) if (a[aAt + w] !== r[rAt + w]) return false;
    return ((a[aAt + META] ^ r[rAt + META]) & SAME) === 0 && this.tail(archive) === tail &&
      this.#dir(archive) === this.#dir(row);
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
      let slot = this.#hashOf(row, this.tail(row)) & (length - 1);
      while (table[slot] !== 0) slot = (slot + 1) & (length - 1);
      table[slot] = row + 1;
    }
    return table;
  }
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
