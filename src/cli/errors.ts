/** Errors the command line reports as one line, with the exit code they carry. */

/** Wrong command-line syntax (argparse's domain): exit code 2, usage on stderr. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A failure the user can act on, printed as `ERROR: <message>`; exit code 1 by default. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = "CliError";
  }
}

/** Best one-line description of any thrown value. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    const msg = err.message.split("\n")[0];
    return code && !msg.includes(code) ? `${msg} (${code})` : msg;
  }
  return String(err);
}
