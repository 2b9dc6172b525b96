/**
 * Which options given on the command line a command takes. Like the Python tool, every command
 * accepts every option the Python tool has (a CI script may pass one set of options to all of
 * them); where one has no effect, the command says so in one warning. Options the Python tool
 * never had are syntax errors on the commands that do not take them, as in argparse.
 */
import type { Command } from "../commands/command.ts";
import { REFERENCE_OPTIONS } from "../commands/options.ts";
import { UsageError } from "./errors.ts";

/** Options every command takes (and lists in its help). */
export const ALWAYS_ALLOWED: readonly string[] = ["quiet", "help", "debug"];

/** The Python tool's options that `command` accepts without using them. */
export function ignoredOptions(command: Command): string[] {
  return REFERENCE_OPTIONS.filter((o) =>
    !command.options.includes(o) && !ALWAYS_ALLOWED.includes(o)
  );
}

/**
 * Checks the options given (long name → spelling used) against `command`: throws a UsageError
 * naming those it does not take; returns the one warning line (without `WARNING: `) for the
 * Python tool's options that have no effect on it, if any were given.
 */
export function checkOptions(given: ReadonlyMap<string, string>, command: Command): string | null {
  const usable = (o: string) => command.options.includes(o) || ALWAYS_ALLOWED.includes(o);
  const foreign = [...given].filter(([o]) => !usable(o) && !REFERENCE_OPTIONS.includes(o));
  if (foreign.length > 0) {
    const list = foreign.map(([, shown]) => shown).join(", ");
    throw new UsageError(
      `unrecognized arguments: ${list} ('${command.name}' does not take them)`,
      command.name,
    );
  }
  const ignored = [...given].filter(([o]) => !usable(o)).map(([, shown]) => shown);
  if (ignored.length === 0) return null;
  const verb = ignored.length === 1 ? "has" : "have";
  return `${ignored.join(", ")} ${verb} no effect on '${command.name}' (accepted and ignored, ` +
    "as the Python isar-sstate does)";
}
