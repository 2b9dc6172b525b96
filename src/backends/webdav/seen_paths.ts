/**
 * The paths a listing has handed out, in 8 bytes each: a 64-bit fingerprint per path (two
 * independent 32-bit hashes) in an open-addressing table, no string kept. A listing that has to
 * start over (a broken-off WebDAV `Depth: infinity` response) skips what it listed already. Two
 * paths share a fingerprint with a chance of about one in 2^64 per pair: the later one would not
 * be listed again, which costs what a concurrent change would (a put finds it there, a clean
 * leaves it for the next run).
 */

/** A set of path fingerprints. */
export class SeenPaths {
  /** Pairs of words; a pair with a zero second word is empty (second words are odd). */
  #table = new Int32Array(2 * 1024);
  #count = 0;
  /** The fingerprint of the path hashed last. */
  #h1 = 0;
  #h2 = 0;

  /** How many paths were added. */
  get size(): number {
    return this.#count;
  }

  /** Adds `path`. */
  add(path: string): void {
    const slot = this.#slot(path);
    if (this.#table[slot + 1] !== 0) return;
    this.#table[slot] = this.#h1;
    this.#table[slot + 1] = this.#h2;
    if (++this.#count * 4 > this.#table.length) this.#grow();
  }

  /** Whether `path` was added (or, once in about 2^64 pairs, one with its fingerprint). */
  has(path: string): boolean {
    return this.#table[this.#slot(path) + 1] !== 0;
  }

  /** Hashes `path` into `#h1` and `#h2`; its slot, or the empty one where it would go. */
  #slot(path: string): number {
    let h1 = 0x811c9dc5 | 0;
    let h2 = 0x9747b28c | 0;
    for (let i = 0; i < path.length; i++) {
      const c = path.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    this.#h1 = h1;
    this.#h2 = h2 | 1;
    return this.#find(this.#table, this.#h1, this.#h2);
  }

  #find(table: Int32Array, h1: number, h2: number): number {
    const mask = (table.length >> 1) - 1;
    let slot = ((h1 ^ h2) & mask) << 1;
    while (table[slot + 1] !== 0 && (table[slot] !== h1 || table[slot + 1] !== h2)) {
      slot = (slot + 2) & (table.length - 1);
    }
    return slot;
  }

  #grow(): void {
    const old = this.#table;
    const table = new Int32Array(old.length * 2);
    for (let slot = 0; slot < old.length; slot += 2) {
      if (old[slot + 1] === 0) continue;
      const to = this.#find(table, old[slot], old[slot + 1]);
      table[to] = old[slot];
      table[to + 1] = old[slot + 1];
    }
    this.#table = table;
  }
}
