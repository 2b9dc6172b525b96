/** Sizes as the tool prints them. */

/** Total size in the reference tool's unit: GiB with two decimals. */
export function formatGb(bytes: number): string {
  return (bytes / 1024 / 1024 / 1024).toFixed(2);
}

/** Human-readable byte count (B, KiB, MiB, …). */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
