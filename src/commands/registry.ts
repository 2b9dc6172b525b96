/**
 * All subcommands by name. A command's module (and what it imports: the signature libraries,
 * a remote backend's SDK) is loaded only when that command runs, so that start-up stays short.
 */
import type { Command } from "./command.ts";
import type { CommandName } from "./options.ts";

/** A subcommand as the overview lists it. */
export interface CommandEntry {
  name: CommandName;
  /** One line for the global help. */
  summary: string;
  /** Loads the command (literal dynamic imports, which `deno compile` embeds). */
  load(): Promise<Command>;
}

/** Every command, in help order. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "upload",
    summary: "upload local sstate artifacts that the remote cache does not have yet",
    load: async () => (await import("./upload.ts")).upload,
  },
  {
    name: "clean",
    summary: "delete archives older than --max-age and siginfo older than --max-sig-age",
    load: async () => (await import("./clean.ts")).clean,
  },
  {
    name: "info",
    summary: "show what a cache holds: file count and size, with -v archs and recipes",
    load: async () => (await import("./info.ts")).info,
  },
  {
    name: "lint",
    summary: "find absolute build and source paths in signatures (cachability issues)",
    load: async () => (await import("./lint.ts")).lint,
  },
  {
    name: "analyze",
    summary: "explain why local sstate items are no hits in the remote cache",
    load: async () => (await import("./analyze.ts")).analyze,
  },
  {
    name: "diff",
    summary: "compare two siginfo/sigdata files like bitbake-diffsigs",
    load: async () => (await import("./diff.ts")).diff,
  },
  {
    name: "dump",
    summary: "print a siginfo/sigdata file like bitbake-dumpsig",
    load: async () => (await import("./dump.ts")).dump,
  },
];

/** The command of that name, if this build has it. */
export function findCommand(name: CommandName): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name);
}
