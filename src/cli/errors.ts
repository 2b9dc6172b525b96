/** How the command line reports errors: one line each, with the exit code they carry. */
import { BackendError, describeError } from "../backends/backend.ts";
import { InputError } from "../cache/input_error.ts";
import { CommandError } from "../commands/command.ts";
import { SiginfoError } from "../siginfo/error.ts";

/** Wrong command-line syntax (argparse's domain): exit code 2, usage on stderr. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * The one line and exit code for an error a command threw; `expected` is false for errors that
 * are bugs (worth a stack trace with --debug).
 */
export function reportOf(err: unknown): { message: string; exitCode: number; expected: boolean } {
  if (err instanceof CommandError) {
    return { message: err.message, exitCode: err.exitCode, expected: true };
  }
  const expected = err instanceof BackendError || err instanceof InputError ||
    err instanceof SiginfoError;
  return { message: expected ? (err as Error).message : describeError(err), exitCode: 1, expected };
}
