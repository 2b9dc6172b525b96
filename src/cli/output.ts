/**
 * Line output in the reference tool's format (`INFO: …`, `WARNING: …`, `ERROR: …`, plain lines),
 * with colour decided once per run. Lines are batched for speed but never held long: they are
 * written at least every 100 ms, and warnings and errors at once, so a piped log shows progress
 * as it happens and a killed run keeps what it printed. The tool's own messages (info, warnings,
 * errors) never show a password of a URL they quote.
 */
import { redactText } from "../backends/url.ts";

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
  /**
   * Machine-readable mode: stdout carries only the command's JSON; INFO, WARNING and ERROR
   * lines go to `diagnostics` (stderr).
   */
  json?: boolean;
  sink?: LineSink;
  diagnostics?: LineSink;
  /** Called before text is written, e.g. to clear a progress line. */
  beforeWrite?: () => void;
}

/** Longest time a line waits in the buffer, in ms. */
const FLUSH_INTERVAL_MS = 100;
/** Buffered text that is written at once, whatever its age. */
const FLUSH_SIZE = 65536;

/** The tool's line printer. */
export class Output {
  readonly verbose: boolean;
  readonly quiet: boolean;
  readonly color: boolean;
  readonly json: boolean;
  #sink: LineSink;
  #diagnostics: LineSink;
  #buffer: string[] = [];
  #size = 0;
  #readerGone = false;
  #timer?: ReturnType<typeof setTimeout>;
  beforeWrite?: () => void;

  constructor(settings: OutputSettings = {}) {
    this.verbose = settings.verbose ?? false;
    this.quiet = settings.quiet ?? false;
    this.color = settings.color ?? false;
    this.json = settings.json ?? false;
    this.#sink = settings.sink ?? Deno.stdout;
    this.#diagnostics = settings.diagnostics ?? Deno.stderr;
    this.beforeWrite = settings.beforeWrite;
  }

  /** A plain line; colour codes are removed unless colour is on. */
  line(text: string): void {
    const shown = this.color ? text : stripAnsi(text);
    this.#buffer.push(shown, "\n");
    this.#size += shown.length + 1;
    if (this.#size > FLUSH_SIZE) this.flush();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), FLUSH_INTERVAL_MS);
      Deno.unrefTimer(this.#timer);
    }
  }

  /** `INFO: …`, suppressed by --quiet. */
  info(text: string): void {
    if (this.quiet) return;
    if (this.json) this.#diagnose(`INFO: ${text}`);
    else this.line(`INFO: ${redactText(text)}`);
  }

  /** `WARNING: …`, written at once. */
  warn(text: string): void {
    this.#diagnose(`WARNING: ${text}`);
  }

  /** `ERROR: …`, written at once. */
  error(text: string): void {
    this.#diagnose(`ERROR: ${text}`);
  }

  /** A line shown only with --verbose. */
  detail(text: string): void {
    if (this.verbose) this.line(text);
  }

  /** A diagnostic line: on stdout among the others, or on stderr in JSON mode; never held. */
  #diagnose(message: string): void {
    const text = redactText(message);
    if (!this.json) {
      this.line(text);
      return this.flush();
    }
    this.flush();
    this.beforeWrite?.();
    this.#write(this.#diagnostics, stripAnsi(text) + "\n");
  }

  /** Bytes of another program, written as they are to the diagnostics sink (stderr). */
  passThrough(data: Uint8Array): void {
    this.flush();
    this.beforeWrite?.();
    this.#write(this.#diagnostics, data);
  }

  /**
   * Writes everything buffered so far. Once the reader has gone (`| head`), output is dropped
   * and the work goes on: an upload or clean is never left half done because nobody reads.
   */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#buffer.length === 0) return;
    const text = this.#buffer.join("");
    this.#buffer = [];
    this.#size = 0;
    this.beforeWrite?.();
    this.#write(this.#sink, text);
  }

  #write(sink: LineSink, text: string | Uint8Array): void {
    if (this.#readerGone && sink === this.#sink) return;
    const data = typeof text === "string" ? encoder.encode(text) : text;
    try {
      let offset = 0;
      while (offset < data.length) offset += sink.writeSync(data.subarray(offset));
    } catch (err) {
      if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
      if (sink === this.#sink) this.#readerGone = true;
    }
  }
}
