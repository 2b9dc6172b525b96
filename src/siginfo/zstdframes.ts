/**
 * Structural check of a zstd stream. `zstdDecompressSync` returns whatever it could decode from a
 * cut-off stream without complaint, so a truncated file is recognised by walking the frames.
 */

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const DICT_ID_SIZES = [0, 1, 2, 4];
const CONTENT_SIZE_SIZES = [0, 2, 4, 8];

/** Byte length of the zstd or skippable frame starting at `pos`, or -1 if it does not end in `bytes`. */
function frameLength(bytes: Uint8Array, view: DataView, pos: number): number {
  if (pos + 4 > bytes.length) return -1;
  const magic = view.getUint32(pos, true);
  if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
    if (pos + 8 > bytes.length) return -1;
    const end = pos + 8 + view.getUint32(pos + 4, true);
    return end <= bytes.length ? end - pos : -1;
  }
  if (magic !== ZSTD_MAGIC || pos + 5 > bytes.length) return -1;
  const descriptor = bytes[pos + 4];
  const singleSegment = (descriptor >> 5) & 1;
  const contentSizeFlag = descriptor >> 6;
  let p = pos + 5 + (singleSegment ? 0 : 1) + DICT_ID_SIZES[descriptor & 3] +
    (contentSizeFlag === 0 ? singleSegment : CONTENT_SIZE_SIZES[contentSizeFlag]);
  for (;;) {
    if (p + 3 > bytes.length) return -1;
    const header = bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16);
    const type = (header >> 1) & 3;
    if (type === 3) return -1;
    p += 3 + (type === 1 ? 1 : header >>> 3);
    if (header & 1) break;
  }
  if ((descriptor >> 2) & 1) p += 4;
  return p <= bytes.length ? p - pos : -1;
}

/** True when `bytes` is a sequence of whole zstd (or skippable) frames. */
export function zstdFramesComplete(bytes: Uint8Array): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  while (pos < bytes.length) {
    const length = frameLength(bytes, view, pos);
    if (length < 0) return false;
    pos += length;
  }
  return pos > 0;
}
