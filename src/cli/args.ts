/**
 * Command-line parsing compatible with the reference tool's argparse setup:
 * `isar-sstate COMMAND [SOURCE] TARGET [options]`, options before, between or after the
 * positionals, `--opt value` and `--opt=value`, unique long-option prefixes, bundled short flags.
 * `--` ends the options; for `watch` it starts the command to run while watching.
 */
import {
  COMMAND_NAMES,
  type CommandName,
  defaultOptions,
  type Options,
  REFERENCE_OPTIONS,
} from "../commands/options.ts";
import { UsageError } from "./errors.ts";

/** The result of parsing argv. */
export interface ParsedArgs {
  command?: CommandName;
  source?: string;
  target?: string;
  options: Options;
  /** The options given: long name → the spelling used first (`-v`, `--verbose`). */
  given: Map<string, string>;
}

/** `list`: a string option that may be given several times (each value is kept). */
type Kind = "flag" | "string" | "int" | "choice" | "list";

interface OptionSpec {
  long: string;
  short?: string;
  key: keyof Options;
  kind: Kind;
  choices?: readonly string[];
  metavar?: string;
}

/** Option table; help texts live in help.ts. */
export const OPTION_SPECS: readonly OptionSpec[] = [
  { long: "help", short: "h", key: "help", kind: "flag" },
  { long: "version", key: "version", kind: "flag" },
  { long: "verbose", short: "v", key: "verbose", kind: "flag" },
  { long: "quiet", short: "q", key: "quiet", kind: "flag" },
  { long: "debug", key: "debug", kind: "flag" },
  { long: "dry-run", short: "n", key: "dryRun", kind: "flag" },
  { long: "json", key: "json", kind: "flag" },
  { long: "jobs", short: "j", key: "jobs", kind: "int", metavar: "N" },
  {
    long: "color",
    key: "color",
    kind: "choice",
    choices: ["auto", "always", "never"],
    metavar: "WHEN",
  },
  { long: "max-age", key: "maxAge", kind: "string", metavar: "MAX_AGE" },
  { long: "max-sig-age", key: "maxSigAge", kind: "string", metavar: "MAX_SIG_AGE" },
  { long: "filter", key: "filter", kind: "string", metavar: "REGEX" },
  { long: "arch", key: "arch", kind: "string", metavar: "ARCH" },
  { long: "sources-dir", key: "sourcesDir", kind: "string", metavar: "DIR" },
  { long: "build-dir", key: "buildDir", kind: "string", metavar: "DIR" },
  { long: "pedantic", key: "pedantic", kind: "flag" },
  { long: "exit-code", key: "exitCode", kind: "int", metavar: "N" },
  { long: "lint-stamps", key: "lintStamps", kind: "flag" },
  { long: "excluded-tasks", key: "excludedTasks", kind: "string", metavar: "TASKS" },
  { long: "cache-dir", key: "cacheDir", kind: "string", metavar: "DIR" },
  { long: "s3-endpoint", key: "s3Endpoint", kind: "string", metavar: "URL" },
  { long: "s3-path-style", key: "s3PathStyle", kind: "flag" },
  { long: "profile", key: "profile", kind: "string", metavar: "NAME" },
  { long: "settle", key: "settle", kind: "int", metavar: "MS" },
  { long: "rescan-interval", key: "rescanInterval", kind: "int", metavar: "S" },
  { long: "index-file", key: "indexFile", kind: "string", metavar: "PATH" },
  { long: "task", key: "tasks", kind: "list", metavar: "TASK" },
  { long: "recipe", key: "recipe", kind: "string", metavar: "PN" },
  { long: "refresh-after", key: "refreshAfter", kind: "string", metavar: "DURATION" },
  { long: "keep-stamps", key: "keepStamps", kind: "list", metavar: "DIR" },
  { long: "keep-newest", key: "keepNewest", kind: "int", metavar: "N" },
  { long: "max-size", key: "maxSize", kind: "string", metavar: "SIZE" },
  { long: "last-use", key: "lastUse", kind: "flag" },
];

function findLong(name: string): OptionSpec {
  const exact = OPTION_SPECS.find((s) => s.long === name);
  if (exact) return exact;
  const prefixed = OPTION_SPECS.filter((s) => s.long.startsWith(name));
  if (prefixed.length === 1) return prefixed[0];
  // A prefix the reference tool took as one of its options keeps that meaning (`--max-s`).
  const reference = prefixed.filter((s) => REFERENCE_OPTIONS.includes(s.long));
  if (reference.length === 1) return reference[0];
  if (prefixed.length > 1) {
    const names = prefixed.map((s) => `--${s.long}`).join(", ");
    throw new UsageError(`ambiguous option: --${name} could match ${names}`);
  }
  throw new UsageError(`unrecognized arguments: --${name}`);
}

function setValue(options: Options, spec: OptionSpec, raw: string, shown: string): void {
  const record = options as unknown as Record<string, unknown>;
  if (spec.kind === "int") {
    if (!/^-?\d+$/.test(raw)) {
      throw new UsageError(`argument ${shown}: invalid int value: '${raw}'`);
    }
    record[spec.key] = Number(raw);
  } else if (spec.kind === "choice") {
    if (!spec.choices!.includes(raw)) {
      const list = spec.choices!.map((c) => `'${c}'`).join(", ");
      throw new UsageError(`argument ${shown}: invalid choice: '${raw}' (choose from ${list})`);
    }
    record[spec.key] = raw;
  } else if (spec.kind === "list") {
    (record[spec.key] as string[]).push(raw);
  } else {
    record[spec.key] = raw;
  }
}

/** Parse argv (without the program name). Throws UsageError on syntax errors. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const options = defaultOptions();
  const given = new Map<string, string>();
  const positionals: string[] = [];
  const record = options as unknown as Record<string, unknown>;
  let onlyPositionals = false;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const takeValue = (shown: string): string => {
      if (i + 1 >= argv.length) throw new UsageError(`argument ${shown}: expected one argument`);
      return argv[++i];
    };
    if (onlyPositionals || arg === "-" || !arg.startsWith("-") || /^-\d/.test(arg)) {
      positionals.push(arg);
    } else if (arg === "--" && positionals[0] === "watch") {
      // watch: the rest is the command to run while watching.
      options.wrapped = argv.slice(i + 1);
      if (options.wrapped.length === 0) {
        throw new UsageError("expected a command to run after '--'", "watch");
      }
      break;
    } else if (arg === "--") {
      onlyPositionals = true;
    } else if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      const spec = findLong(name);
      const shown = `--${spec.long}`;
      if (!given.has(spec.long)) given.set(spec.long, shown);
      if (spec.kind === "flag") {
        if (eq >= 0) throw new UsageError(`argument ${shown}: ignored explicit argument`);
        record[spec.key] = true;
      } else {
        setValue(options, spec, eq >= 0 ? arg.slice(eq + 1) : takeValue(shown), shown);
      }
    } else {
      // One or more bundled short options: -vq, -j4, -j 4
      for (let k = 1; k < arg.length; k++) {
        const spec = OPTION_SPECS.find((s) => s.short === arg[k]);
        if (!spec) throw new UsageError(`unrecognized arguments: ${arg}`);
        const shown = `-${spec.short}`;
        if (!given.has(spec.long)) given.set(spec.long, shown);
        if (spec.kind === "flag") {
          record[spec.key] = true;
          continue;
        }
        const rest = arg.slice(k + 1).replace(/^=/, "");
        setValue(options, spec, rest !== "" ? rest : takeValue(shown), shown);
        break;
      }
    }
  }

  const result: ParsedArgs = { options, given };
  if (positionals.length === 0) return result;
  const [command, ...rest] = positionals;
  if (!(COMMAND_NAMES as readonly string[]).includes(command)) {
    const list = COMMAND_NAMES.map((c) => `'${c}'`).join(", ");
    throw new UsageError(`argument command: invalid choice: '${command}' (choose from ${list})`);
  }
  result.command = command as CommandName;
  if (rest.length > 2) {
    throw new UsageError(`unrecognized arguments: ${rest.slice(2).join(" ")}`, result.command);
  }
  if (rest.length === 2) [result.source, result.target] = rest;
  else if (rest.length === 1) result.target = rest[0];
  return result;
}
