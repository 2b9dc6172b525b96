/** The build `watch` runs while it watches (`-- COMMAND ARGS...`), e.g. `bitbake my-image`. */
import { type ChildCommand, CommandError } from "../commands/command.ts";

/**
 * A command run as a child process, sharing the terminal and the standard streams; given
 * `stdout` (under `--json`, whose stdout carries only JSON), what it writes to its stdout is
 * handed there instead.
 */
export class WrappedCommand implements ChildCommand {
  private constructor(
    readonly argv: readonly string[],
    readonly child: Deno.ChildProcess,
    readonly copied: Promise<void>,
  ) {}

  /** Starts `argv`; a command that cannot start is an error with the shell's exit code. */
  static start(
    argv: readonly string[],
    stdout?: (data: Uint8Array) => void,
  ): WrappedCommand {
    try {
      const child = new Deno.Command(argv[0], {
        args: argv.slice(1),
        stdin: "inherit",
        stdout: stdout ? "piped" : "inherit",
        stderr: "inherit",
      }).spawn();
      const copied = stdout ? passOn(child.stdout, stdout) : Promise.resolve();
      return new WrappedCommand(argv, child, copied);
    } catch (err) {
      const notFound = err instanceof Deno.errors.NotFound;
      const reason = notFound ? "command not found" : (err as Error).message.split("\n")[0];
      throw new CommandError(`cannot run ${argv[0]}: ${reason}`, notFound ? 127 : 126);
    }
  }

  /** The command line, for printing. */
  get display(): string {
    return this.argv.map((a) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)
      .join(" ");
  }

  /**
   * Resolves with the exit code (128 + the signal number when a signal ended it), once what it
   * wrote to its stdout is passed on.
   */
  async exitCode(): Promise<number> {
    const { code } = await this.child.status;
    await this.copied;
    return code;
  }

  /**
   * Passes a signal on to the command, unless it came from the terminal to the whole process
   * group: then the command has it already (bitbake handles Ctrl-C itself, finishing its
   * running tasks at the first and stopping at the second).
   */
  forward(signal: "SIGINT" | "SIGTERM", fromTerminal: boolean): void {
    if (fromTerminal) return;
    try {
      this.child.kill(signal);
    } catch {
      // it has ended already
    }
  }
}

/** Hands a stream's chunks to `to` as they come, until it ends (the command closed it). */
async function passOn(
  stream: ReadableStream<Uint8Array>,
  to: (data: Uint8Array) => void,
): Promise<void> {
  for await (const chunk of stream) to(chunk);
}
