/** A one-line progress display for long work (items, bytes, rate, ETA), on a terminal only. */
import { formatBytes } from "../cache/units.ts";
import type { ProgressDisplay, StatusDisplay } from "../commands/command.ts";

const encoder = new TextEncoder();

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  const mm = String(Math.floor(s / 60) % 60).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${mm}:${ss}`;
}

/**
 * The share of the work done, from items and bytes alike: small files (siginfo) cost time per
 * file, large ones per byte, so neither count alone predicts the rest.
 */
export function doneFraction(
  files: number,
  totalFiles: number,
  bytes: number,
  totalBytes: number,
): number {
  const byFiles = totalFiles > 0 ? files / totalFiles : 1;
  if (totalBytes <= 0) return byFiles;
  return (byFiles + bytes / totalBytes) / 2;
}

/**
 * Progress of work of a known (or growing) size, redrawn at most 10 times a second; until the
 * size is known, a count of what was done.
 */
export class Progress implements ProgressDisplay {
  #known = false;
  #totalFiles = 0;
  #totalBytes = 0;
  #doneFiles = 0;
  #doneBytes = 0;
  #failed = 0;
  #start = Date.now();
  #lastDraw = 0;
  #visible = false;
  #cleared = false;

  constructor(public label: string, readonly enabled: boolean) {}

  phase(label: string): void {
    this.label = label;
    this.draw(true);
  }

  total(files: number, bytes = 0): void {
    this.#known = true;
    this.#totalFiles = files;
    this.#totalBytes = bytes;
    this.draw(true);
  }

  advance(bytes = 0, failed = false): void {
    this.#doneFiles++;
    this.#doneBytes += bytes;
    if (failed) this.#failed++;
    this.draw();
  }

  /** Redraws the line if enough time passed (or `force`). */
  draw(force = false): void {
    if (!this.enabled || this.#cleared) return;
    const now = Date.now();
    if (!force && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const elapsed = Math.max((now - this.#start) / 1000, 0.001);
    if (!this.#known) return this.#write(this.#countLine(elapsed));
    const files = Math.max(this.#totalFiles, this.#doneFiles);
    const fraction = doneFraction(this.#doneFiles, files, this.#doneBytes, this.#totalBytes);
    const eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : Infinity;
    const width = 20;
    const filled = Math.round(fraction * width);
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    const failed = this.#failed ? `, ${this.#failed} failed` : "";
    const bytes = this.#totalBytes > 0
      ? `, ${formatBytes(this.#doneBytes)}/${formatBytes(this.#totalBytes)}, ` +
        `${formatBytes(this.#doneBytes / elapsed)}/s`
      : "";
    const line = `${this.label} [${bar}] ${Math.floor(fraction * 100)}% ` +
      `${this.#doneFiles}/${files}${failed}${bytes}, ETA ${formatDuration(eta)}`;
    this.#write(line);
  }

  /** While the totals are unknown: what was done so far, and how fast. */
  #countLine(elapsed: number): string {
    const failed = this.#failed ? `, ${this.#failed} failed` : "";
    const bytes = this.#doneBytes > 0
      ? `, ${formatBytes(this.#doneBytes)}, ${formatBytes(this.#doneBytes / elapsed)}/s`
      : "";
    return `${this.label}... ${this.#doneFiles} done${failed}${bytes}, ` +
      `${formatDuration(elapsed)}`;
  }

  #write(line: string): void {
    Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${line}`));
    this.#visible = true;
  }

  /** Hides the line until the next redraw (before other output). */
  hide(): void {
    if (!this.#visible) return;
    Deno.stderr.writeSync(encoder.encode("\r\x1b[2K"));
    this.#visible = false;
  }

  clear(): void {
    this.hide();
    this.#cleared = true;
  }
}

/** A one-line status on a terminal (e.g. a daemon's counts), redrawn at most 10 times a second. */
export class StatusLine implements StatusDisplay {
  #text = "";
  #lastDraw = 0;
  #timer?: ReturnType<typeof setTimeout>;
  #visible = false;
  #cleared = false;

  constructor(readonly live: boolean) {}

  show(text: string): void {
    if (!this.live || this.#cleared) return;
    this.#text = text;
    const wait = this.#lastDraw + 100 - Date.now();
    if (wait <= 0) this.#draw();
    else this.#timer ??= setTimeout(() => this.#draw(), wait);
  }

  #draw(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#cleared) return;
    this.#lastDraw = Date.now();
    const width = Deno.consoleSize?.().columns ?? 80;
    Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${this.#text.slice(0, width - 1)}`));
    this.#visible = true;
  }

  /** Hides the line for other output; it comes back below that output. */
  hide(): void {
    if (!this.#visible) return;
    Deno.stderr.writeSync(encoder.encode("\r\x1b[2K"));
    this.#visible = false;
    this.#timer ??= setTimeout(() => this.#draw(), 100);
  }

  clear(): void {
    this.hide();
    clearTimeout(this.#timer);
    this.#cleared = true;
  }
}
