/**
 * A column of numbers by entry number (e.g. of a `PathSet`), in typed-array chunks allocated as
 * entries are set: no JavaScript number object per entry, and no copy as the column grows.
 */

/** The typed arrays a column can be made of. */
export type ColumnArray = Float64Array | Uint32Array | Int32Array | Uint16Array | Uint8Array;

/** How a column's chunks are made. */
type ArrayKind<A extends ColumnArray> = { new (length: number): A };

const BITS = 14;
const CHUNK = 1 << BITS;

/** Numbers by entry number; entries never set read as `empty`. */
export class Column<A extends ColumnArray = Float64Array> {
  #chunks: (A | undefined)[] = [];
  #kind: ArrayKind<A>;
  readonly empty: number;

  /** `kind`: the typed array of its chunks; `empty`: what an entry never set reads as. */
  constructor(kind: ArrayKind<A>, empty = 0) {
    this.#kind = kind;
    this.empty = empty;
  }

  /** The number of entry `entry` (`empty` if it was never set). */
  get(entry: number): number {
    const chunk = this.#chunks[entry >>> BITS];
    return chunk === undefined ? this.empty : chunk[entry & (CHUNK - 1)];
  }

  /** Sets the number of entry `entry`. */
  set(entry: number, value: number): void {
    let chunk = this.#chunks[entry >>> BITS];
    if (chunk === undefined) {
      while (this.#chunks.length <= entry >>> BITS) this.#chunks.push(undefined);
      chunk = this.#chunks[entry >>> BITS] = new this.#kind(CHUNK);
      if (this.empty !== 0) chunk.fill(this.empty);
    }
    chunk[entry & (CHUNK - 1)] = value;
  }

  /** Bytes held by its chunks. */
  get bytes(): number {
    let bytes = 0;
    for (const chunk of this.#chunks) bytes += chunk?.byteLength ?? 0;
    return bytes;
  }
}
