/** All subcommands by name. */
import type { CommandName } from "./options.ts";
import type { Command } from "./command.ts";
import { analyze } from "./analyze.ts";
import { clean } from "./clean.ts";
import { diff } from "./diff.ts";
import { dump } from "./dump.ts";
import { info } from "./info.ts";
import { lint } from "./lint.ts";
import { upload } from "./upload.ts";

/** Every command, in help order. */
export const ALL_COMMANDS: readonly Command[] = [upload, clean, info, lint, analyze, diff, dump];

/** The command of that name, if this build has it. */
export function findCommand(name: CommandName): Command | undefined {
  return ALL_COMMANDS.find((c) => c.name === name);
}
