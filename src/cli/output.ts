/**
 * Line output in the reference tool's format (`INFO: …`, `WARNING: …`, `ERROR: …`, plain lines),
 * buffered for speed, with colour decided once per run.
 */

const encoder = new TextEncoder();

/** Anything lines can be written to (stdout by default; a buffer in tests). */
export interface LineSink {
  writeSync(data: Uint8Array): number;
}

/** Whether colour should be used: `always`, `never`, or `auto` (a TTY and no NO_COLOR). */
export function useColor(mode: "auto" | "always" | "never", isTerminal: boolean): boolean {
  if (mode !== "auto") return mode === "always";
  return isTerminal && !Deno.env.get("NO_COLOR");
}

/** Removes ANSI colour sequences. */
export function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/** Settings an Output is made with. */
export interface OutputSettings {
  verbose?: boolean;
  quiet?: boolean;
  color?: boolean;
  sink?: LineSink;
  /** Called before buffered text is written, e.g. to clear a progress line. */
  beforeWrite?: () => void;
}

/** The tool's line printer. */
export class Output {
  readonly verbose: boolean;
  readonly quiet: boolean;
  readonly color: boolean;
  #sink: LineSink;
  #buffer: string[] = [];
  #size = 0;
  #readerGone = false;
  beforeWrite?: () => void;

  constructor(settings: OutputSettings = {}) {
    this.verbose = settings.verbose ?? false;
    this.quiet = settings.quiet ?? false;
    this.color = settings.color ?? false;
    this.#sink = settings.sink ?? Deno.stdout;
    this.beforeWrite = settings.beforeWrite;
  }

  /** A plain line; colour codes are removed unless colour is on. */
  line(text: string): void {
    const shown = this.color ? text : stripAnsi(text);
    this.#buffer.push(shown, "\n");
    this.#size += shown.length + 1;
    if (this.#size > 65536) this.flush();
  }

  /** `INFO: …`, suppressed by --quiet. */
  info(text: string): void {
    if (!this.quiet) this.line(`INFO: ${text}`);
  }

  /** `WARNING: …`. */
  warn(text: string): void {
    this.line(`WARNING: ${text}`);
  }

  /** `ERROR: …`. */
  error(text: string): void {
    this.line(`ERROR: ${text}`);
  }

  /** A line shown only with --verbose. */
  detail(text: string): void {
    if (this.verbose) this.line(text);
  }

  /**
   * Writes everything buffered so far. Once the reader has gone (`| head`), output is dropped
   * and the work goes on: an upload or clean is never left half done because nobody reads.
   */
  flush(): void {
    if (this.#buffer.length === 0) return;
    const text = this.#buffer.join("");
    this.#buffer = [];
    this.#size = 0;
    if (this.#readerGone) return;
    this.beforeWrite?.();
    const data = encoder.encode(text);
    try {
      let offset = 0;
      while (offset < data.length) offset += this.#sink.writeSync(data.subarray(offset));
    } catch (err) {
      if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
      this.#readerGone = true;
    }
  }
}
