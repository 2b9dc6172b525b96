/** A one-line progress display for long transfers (files, bytes, rate, ETA), on a TTY only. */

const encoder = new TextEncoder();

/** Human-readable byte count. */
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

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  const mm = String(Math.floor(s / 60) % 60).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** Progress of a transfer of a known number of files and bytes, redrawn at most 10×/s. */
export class Progress {
  #doneFiles = 0;
  #doneBytes = 0;
  #failed = 0;
  #start = Date.now();
  #lastDraw = 0;
  #visible = false;

  constructor(
    readonly label: string,
    readonly totalFiles: number,
    readonly totalBytes: number,
    readonly enabled: boolean,
  ) {}

  /** Counts one finished file. */
  advance(bytes: number, failed = false): void {
    this.#doneFiles++;
    this.#doneBytes += bytes;
    if (failed) this.#failed++;
    this.draw();
  }

  /** Redraws the line if enough time passed (or `force`). */
  draw(force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const elapsed = Math.max((now - this.#start) / 1000, 0.001);
    const rate = this.#doneBytes / elapsed;
    const eta = rate > 0 ? (this.totalBytes - this.#doneBytes) / rate : Infinity;
    const pct = this.totalBytes > 0 ? Math.floor((this.#doneBytes / this.totalBytes) * 100) : 100;
    const width = 20;
    const filled = Math.round((pct / 100) * width);
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    const failed = this.#failed ? `, ${this.#failed} failed` : "";
    const line =
      `${this.label} [${bar}] ${pct}% ${this.#doneFiles}/${this.totalFiles} files${failed}, ` +
      `${formatBytes(this.#doneBytes)}/${formatBytes(this.totalBytes)}, ` +
      `${formatBytes(rate)}/s, ETA ${formatDuration(eta)}`;
    Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${line}`));
    this.#visible = true;
  }

  /** Removes the line (before other output, and at the end). */
  clear(): void {
    if (!this.#visible) return;
    Deno.stderr.writeSync(encoder.encode("\r\x1b[2K"));
    this.#visible = false;
  }
}
