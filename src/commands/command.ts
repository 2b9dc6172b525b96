/**
 * What every subcommand module provides, and the context it runs in. Commands print through a
 * `Printer`, show progress through a `ProgressDisplay` or `StatusDisplay`, hear of signals and
 * start child processes through the `CommandContext` that the command line (src/cli/) hands
 * them; they never touch the terminal, the standard streams or the process themselves.
 */
import type { Backend } from "../backends/backend.ts";
import { openBackend, type OpenOptions } from "../backends/registry.ts";
import { isRemoteUrl, redactUrl } from "../backends/url.ts";
import { retrying } from "../backends/retry.ts";
import type { CommandName, Options } from "./options.ts";

/** Where a command prints: the tool's line format (`INFO: …`, `WARNING: …`, `ERROR: …`). */
export interface Printer {
  readonly verbose: boolean;
  readonly quiet: boolean;
  readonly color: boolean;
  /** JSON mode: `line` carries JSON; info, warnings and errors go elsewhere (stderr). */
  readonly json: boolean;
  line(text: string): void;
  info(text: string): void;
  warn(text: string): void;
  error(text: string): void;
  /** A line only shown with --verbose. */
  detail(text: string): void;
  /** Writes what is buffered now. */
  flush(): void;
  /**
   * Bytes another program wrote (a wrapped build's stdout under --json), written as they are
   * where diagnostics go (stderr), after the lines buffered so far.
   */
  passThrough(data: Uint8Array): void;
}

/**
 * A live progress line for long work (a no-op where nobody watches a terminal). Until the totals
 * are known it shows what was done so far, without a share or an ETA.
 */
export interface ProgressDisplay {
  /** Starts another phase of the work under `label` (e.g. `listing`, then `copying`). */
  phase(label: string): void;
  /** Sets (or raises) the totals once they are known. */
  total(files: number, bytes?: number): void;
  /** Counts one finished item. */
  advance(bytes?: number, failed?: boolean): void;
  /** Removes the line for good. */
  clear(): void;
}

/** A one-line status for a long-running command (a no-op where nobody watches a terminal). */
export interface StatusDisplay {
  /** Whether the line is drawn at all. */
  readonly live: boolean;
  /** Replaces the line's text. */
  show(text: string): void;
  /** Removes the line for good. */
  clear(): void;
}

/** A command run as a child process that shares the terminal (watch's wrapped build). */
export interface ChildCommand {
  /** The command line, for printing. */
  readonly display: string;
  /** Resolves with the exit code (128 + the signal number when a signal ended it). */
  exitCode(): Promise<number>;
  /** Passes a signal on, unless it came from the terminal to the whole process group. */
  forward(signal: "SIGINT" | "SIGTERM", fromTerminal: boolean): void;
}

/** Everything a command needs from the command line and the terminal. */
export interface CommandContext {
  command: CommandName;
  source?: string;
  target?: string;
  options: Options;
  out: Printer;
  /** A progress display labelled `label`. */
  progress(label: string): ProgressDisplay;
  /** Aborted at the first Ctrl-C / SIGTERM: start no further work, then report. */
  stop: AbortSignal;
  /** Aborted at the second: stop the work in progress too. */
  abort: AbortSignal;
  /** The exit code the signals received so far imply (130 SIGINT, 143 SIGTERM), if any. */
  signalExitCode(): number | undefined;
  /**
   * Tells that the signals received asked for the end the command reached, with all its work
   * done (a daemon's stop): its own exit code stands instead of 130/143.
   */
  stopCompleted(): void;
  /** A status line (for commands that run until stopped). */
  status(): StatusDisplay;
  /**
   * Calls `listener` at every SIGINT or SIGTERM (after `stop` or `abort`), with whether it came
   * from the terminal to the whole foreground process group (a Ctrl-C: child processes got it
   * too) and how many signals came so far.
   */
  onInterrupt(
    listener: (signal: "SIGINT" | "SIGTERM", fromTerminal: boolean, count: number) => void,
  ): void;
  /**
   * Starts `argv` as a child process sharing the terminal and the standard streams (given
   * `stdout`, what it writes to its stdout is handed there instead); a command that cannot start
   * is a CommandError with the shell's exit code (127, 126).
   */
  startChild(argv: readonly string[], stdout?: (data: Uint8Array) => void): ChildCommand;
}

/** A subcommand: its help and its implementation, returning the exit code. */
export interface Command {
  name: CommandName;
  /** `SOURCE TARGET`, `TARGET`, … */
  positionals: string;
  /** The options it takes (long names), listed in its help; any other is a syntax error. */
  options: readonly string[];
  /** Help texts of options that mean something particular to this command. */
  optionHelp?: Readonly<Record<string, string>>;
  /** Paragraphs for `isar-sstate COMMAND --help`. */
  description: string;
  examples: readonly string[];
  run(ctx: CommandContext): Promise<number>;
}

/** A failure the user can act on, printed as `ERROR: <message>`; exit code 1 by default. */
export class CommandError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = "CommandError";
  }
}

/** The reference tool's positional checks: `needs a source and target` / `must not have a source`. */
export function requireSourceAndTarget(ctx: CommandContext): { source: string; target: string } {
  const { command, source, target } = ctx;
  if (source === undefined || target === undefined) {
    throw new CommandError(`'${command}' needs a source and target`);
  }
  return { source, target };
}

/** For commands that take only a target. */
export function requireTargetOnly(ctx: CommandContext): string {
  const { command, source, target } = ctx;
  if (source !== undefined) {
    throw new CommandError(`'${command}' must not have a source (only a target)`);
  }
  return target!;
}

/** A local path given on the command line, and how to print it. */
export interface LocalPath {
  /** The path (a `file://` prefix removed). */
  path: string;
  /** The argument as given, for messages (with any password redacted). */
  shown: string;
}

/**
 * The local path an argument names (`role` says which: `source`, `--cache-dir`, …): a path or a
 * `file://PATH`. Any other URL is an error (exit 1) that shows it without its password, so that
 * nothing is read from, or created under, a path spelt like a URL.
 */
export function localPathOf(argument: string, role: string): LocalPath {
  const shown = redactUrl(argument);
  if (isRemoteUrl(argument)) {
    throw new CommandError(`${role} ${shown} is a URL; it must be a local path (or file://PATH)`);
  }
  if (!argument.startsWith("file://")) return { path: argument, shown };
  const path = argument.slice("file://".length);
  if (path === "" || /^[^/]*@/.test(path)) {
    throw new CommandError(`${role} ${shown} names no local path (file://PATH)`);
  }
  return { path, shown };
}

/** Default parallelism for transfers. */
export const DEFAULT_JOBS = 8;

/** `--jobs` if given and valid, else what suits the backend, else the default. */
export function jobsOf(options: Options, backend?: Backend): number {
  if (options.jobs === undefined) return backend?.defaultJobs ?? DEFAULT_JOBS;
  if (options.jobs < 1 || options.jobs > 256) {
    throw new CommandError(`--jobs must be between 1 and 256, got ${options.jobs}`);
  }
  return options.jobs;
}

/**
 * Opens a cache location with the command line's backend settings, retrying transient faults;
 * requests that stall are told as warnings to `out`, if given.
 */
export async function openCache(
  location: string,
  options: Options,
  out?: Printer,
): Promise<Backend> {
  const settings: OpenOptions = {
    s3Endpoint: options.s3Endpoint,
    s3PathStyle: options.s3PathStyle || undefined,
    profile: options.profile,
    onStall: out && ((message) => out.warn(message)),
  };
  return retrying(await openBackend(location, settings));
}
