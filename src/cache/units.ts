/**
 * Sizes as the tool prints them, in one unit system: the Python tool's, whose "GB" is 1024³
 * bytes. Its lines keep their `N.NN GB`; other sizes use the same 1024-based units, labelled the
 * same way (B, KB, MB, GB, TB).
 */

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
