/** The command-line entry point: parse, dispatch, turn every error into one line and an exit code. */
import denoConfig from "../../deno.json" with { type: "json" };
import { parseArgs, type ParsedArgs } from "./args.ts";
import { CliError, describeError, UsageError } from "./errors.ts";
import { commandHelp, globalHelp } from "./help.ts";
import { type LineSink, Output, useColor } from "./output.ts";
import { ALL_COMMANDS, findCommand } from "../commands/registry.ts";
import { BackendError } from "../backends/backend.ts";

/** The tool's version, from deno.json. */
export const VERSION: string = denoConfig.version;

const USAGE = "usage: isar-sstate COMMAND [SOURCE] TARGET [options]";

function printUsageError(err: UsageError): void {
  const hint = err.command ? `isar-sstate ${err.command} --help` : "isar-sstate --help";
  console.error(
    `${USAGE}\nisar-sstate: error: ${err.message}\nTry '${hint}' for more information.`,
  );
}

/** Runs the tool with `argv`; returns the exit code. */
export async function runCli(argv: readonly string[], sink?: LineSink): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      printUsageError(err);
      return 2;
    }
    throw err;
  }
  const { options } = args;
  const out = new Output({
    verbose: options.verbose,
    quiet: options.quiet,
    color: useColor(options.color, Deno.stdout.isTerminal()),
    sink,
  });
  const command = args.command ? findCommand(args.command) : undefined;
  try {
    if (options.version) {
      out.line(`isar-sstate ${VERSION}`);
      return 0;
    }
    if (options.help) {
      out.line(command ? commandHelp(command) : globalHelp(ALL_COMMANDS, VERSION));
      return 0;
    }
    if (!args.command) {
      throw new UsageError("the following arguments are required: command, target");
    }
    if (!command) throw new CliError(`'${args.command}' is not available in this version`);
    if (args.target === undefined) {
      throw new UsageError("the following arguments are required: target", args.command);
    }
    return await command.run({
      args,
      options,
      out,
      interactive: Deno.stderr.isTerminal(),
    });
  } catch (err) {
    if (err instanceof UsageError) {
      out.flush();
      printUsageError(err);
      return 2;
    }
    if (err instanceof CliError) {
      out.error(err.message);
      return err.exitCode;
    }
    out.error(err instanceof BackendError ? err.message : describeError(err));
    if (options.debug) console.error(err);
    return 1;
  } finally {
    out.flush();
  }
}
