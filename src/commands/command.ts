/** What every subcommand module provides, and the context it runs in. */
import type { CommandName, Options, ParsedArgs } from "../cli/args.ts";
import { CliError } from "../cli/errors.ts";
import type { Output } from "../cli/output.ts";
import type { Backend } from "../backends/backend.ts";

/** Everything a command needs from the command line and the terminal. */
export interface CommandContext {
  args: ParsedArgs;
  options: Options;
  out: Output;
  /** Whether stderr is a terminal (progress display). */
  interactive: boolean;
}

/** A subcommand: its help and its implementation, returning the exit code. */
export interface Command {
  name: CommandName;
  /** One line for the global help. */
  summary: string;
  /** `SOURCE TARGET`, `TARGET`, … */
  positionals: string;
  /** The options it reads (long names), listed in its help. */
  options: readonly string[];
  /** Paragraphs for `isar-sstate COMMAND --help`. */
  description: string;
  examples: readonly string[];
  run(ctx: CommandContext): Promise<number>;
}

/** The reference tool's positional checks: `needs a source and target` / `must not have a source`. */
export function requireSourceAndTarget(ctx: CommandContext): { source: string; target: string } {
  const { command, source, target } = ctx.args;
  if (source === undefined || target === undefined) {
    throw new CliError(`'${command}' needs a source and target`);
  }
  return { source, target };
}

/** For commands that take only a target. */
export function requireTargetOnly(ctx: CommandContext): string {
  const { command, source, target } = ctx.args;
  if (source !== undefined) {
    throw new CliError(`'${command}' must not have a source (only a target)`);
  }
  return target!;
}

/** Default parallelism for transfers. */
export const DEFAULT_JOBS = 8;

/** `--jobs` if given and valid, else what suits the backend, else the default. */
export function jobsOf(options: Options, backend?: Backend): number {
  if (options.jobs === undefined) return backend?.defaultJobs ?? DEFAULT_JOBS;
  if (options.jobs < 1 || options.jobs > 256) {
    throw new CliError(`--jobs must be between 1 and 256, got ${options.jobs}`);
  }
  return options.jobs;
}
