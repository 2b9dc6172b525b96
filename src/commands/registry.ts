/** All subcommands by name. */
import type { CommandName } from "../cli/args.ts";
import type { Command } from "./command.ts";
import { clean } from "./clean.ts";
import { info } from "./info.ts";
import { upload } from "./upload.ts";

/** Every command, in help order. */
export const ALL_COMMANDS: readonly Command[] = [upload, clean, info];

/** The command of that name, if this build has it. */
export function findCommand(name: CommandName): Command | undefined {
  return ALL_COMMANDS.find((c) => c.name === name);
}
