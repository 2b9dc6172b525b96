/**
 * Sizes as the tool prints them, in one unit system: the Python tool's, whose "GB" is 1024³
 * bytes. Its lines keep their `N.NN GB`; other sizes use the same 1024-based units, labelled the
 * same way (B, KB, MB, GB, TB).
 */
import { InputError } from "./input_error.ts";

/** Total size in the reference tool's unit: GB (1024³ bytes) with two decimals. */
export function formatGb(bytes: number): string {
  return (bytes / 1024 / 1024 / 1024).toFixed(2);
}

/** Human-readable byte count in 1024-based units labelled as the reference's GB (B, KB, MB, …). */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
};

/**
 * Parses a size as given on the command line (`--max-size`): a number with an optional unit K,
 * M, G or T (1024-based like every size the tool prints; `500G`, `2T`, `1.5TB`, `750GiB`);
 * a plain number is bytes. Throws an InputError naming `optionName` for anything else.
 */
export function parseSize(text: string, optionName: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(?:([KMGT])(?:i?B)?|B)?$/i.exec(text.trim());
  if (!m) {
    throw new InputError(
      `cannot parse ${optionName} '${text}', needs to be a number followed by K|M|G|T ` +
        "(e.g. 500G)",
    );
  }
  return Math.floor(Number(m[1]) * SIZE_UNITS[(m[2] ?? "").toUpperCase()]);
}
