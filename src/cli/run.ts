/** The command-line entry point: parse, dispatch, turn every error into one line and an exit code. */
import denoConfig from "../../deno.json" with { type: "json" };
import { onThreadFailure } from "../backends/threads.ts";
import { redactText } from "../backends/url.ts";
import { BUILD } from "./build_info.ts";
import { parseArgs, type ParsedArgs } from "./args.ts";
import { WrappedCommand } from "./child.ts";
import { reportOf, UsageError } from "./errors.ts";
import { commandHelp, globalHelp } from "./help.ts";
import { checkOptions } from "./option_check.ts";
import { type LineSink, Output, useColor } from "./output.ts";
import { Progress, StatusLine } from "./progress.ts";
import { inForegroundGroup, listenForInterrupts } from "./signals.ts";
import { COMMANDS, findCommand } from "../commands/registry.ts";
import { jsonDocument } from "../commands/json_doc.ts";

/** The tool's version, from deno.json. */
export const VERSION: string = denoConfig.version;

const USAGE = "usage: isar-sstate COMMAND [SOURCE] TARGET [options]";

/** The JSON object that stands for an error under `--json` (URLs in it redacted). */
function jsonError(message: string, exit: number): string {
  return JSON.stringify(jsonDocument({ error: redactText(message), exit }));
}

/** Prints a syntax error, which may quote arguments (URLs in them redacted). */
function printUsageError(err: UsageError): void {
  const hint = err.command ? `isar-sstate ${err.command} --help` : "isar-sstate --help";
  console.error(
    `${USAGE}\nisar-sstate: error: ${redactText(err.message)}\nTry '${hint}' for more information.`,
  );
}

/** Runs the tool with `argv`; returns the exit code. */
export async function runCli(argv: readonly string[], sink?: LineSink): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      // Under --json, stdout carries JSON even when the arguments cannot be parsed.
      if (argv.includes("--json")) console.log(jsonError(err.message, 2));
      printUsageError(err);
      return 2;
    }
    throw err;
  }
  const { options } = args;
  const command = args.command ? await findCommand(args.command)?.load() : undefined;
  const interactive = Deno.stderr.isTerminal() && !options.quiet;
  const progressLines = new Set<{ hide(): void; clear(): void }>();
  const out = new Output({
    verbose: options.verbose,
    quiet: options.quiet,
    color: useColor(options.color, Deno.stdout.isTerminal()),
    json: options.json && !options.help,
    sink,
    beforeWrite: () => progressLines.forEach((p) => p.hide()),
  });
  using _threads = onThreadFailure((message) => out.warn(message));
  const notify = (message: string) => {
    out.flush();
    progressLines.forEach((p) => p.hide());
    console.error(message);
  };
  // A wrapped build (watch -- COMMAND) decides itself how long its second Ctrl-C takes.
  using interruption = listenForInterrupts(
    notify,
    options.wrapped ? undefined : () => {
      progressLines.forEach((p) => p.clear());
      notify("the work in progress did not stop in time: exiting anyway (clean removes leftovers)");
    },
  );
  let stopCompleted = false;
  try {
    if (options.version) {
      out.line(`isar-sstate ${VERSION} (${BUILD})`);
      return 0;
    }
    if (options.help) {
      out.line(command ? commandHelp(command) : globalHelp(COMMANDS, VERSION));
      return 0;
    }
    if (!args.command) {
      throw new UsageError("the following arguments are required: command, target");
    }
    if (!command) throw new UsageError(`'${args.command}' is not available in this version`);
    const ignored = checkOptions(args.given, command);
    if (args.target === undefined) {
      throw new UsageError("the following arguments are required: target", args.command);
    }
    if (ignored) out.warn(ignored);
    const code = await command.run({
      command: command.name,
      source: args.source,
      target: args.target,
      options,
      out,
      progress: (label) => {
        const p = new Progress(label, interactive && !options.json);
        progressLines.add(p);
        return p;
      },
      stop: interruption.stop,
      abort: interruption.abort,
      signalExitCode: () => interruption.exitCode,
      stopCompleted: () => void (stopCompleted = true),
      status: () => {
        const line = new StatusLine(interactive && !options.json);
        progressLines.add(line);
        return line;
      },
      onInterrupt: (listener) =>
        interruption.onSignal((signal, count) =>
          listener(signal, signal === "SIGINT" && inForegroundGroup(), count)
        ),
      startChild: (argv, stdout) => WrappedCommand.start(argv, stdout),
    });
    return stopCompleted ? code : interruption.exitCode ?? code;
  } catch (err) {
    if (err instanceof UsageError) {
      if (options.json && !options.help) out.line(jsonError(err.message, 2));
      out.flush();
      printUsageError(err);
      return 2;
    }
    const report = reportOf(err);
    if (options.json) out.line(jsonError(report.message, report.exitCode));
    out.error(report.message);
    if (options.debug && !report.expected) console.error(redactText(Deno.inspect(err)));
    return interruption.exitCode ?? report.exitCode;
  } finally {
    progressLines.forEach((p) => p.clear());
    out.flush();
  }
}
