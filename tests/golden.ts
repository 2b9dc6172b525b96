/** Reading the reference tool's CLI goldens (tests/data/cli/<version>/NAME.txt). */
import { join } from "node:path";
import { DATA } from "./helpers.ts";

/** One recorded run of the reference tool. */
export interface Golden {
  /** Arguments after `isar-sstate`, with @CACHES@ substituted. */
  args: string[];
  stdout: string;
  exitCode: number;
}

function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|(\S+)/g)) words.push(m[1] ?? m[2]);
  return words;
}

/** Loads a golden, replacing @CACHES@ and any `replace` pairs in command and output. */
export async function loadGolden(
  version: "head" | "2022",
  name: string,
  replace: [string, string][] = [],
): Promise<Golden> {
  let text = await Deno.readTextFile(join(DATA, "cli", version, `${name}.txt`));
  for (const [from, to] of [["@CACHES@", join(DATA, "caches", version)], ...replace]) {
    text = text.replaceAll(from, to);
  }
  const lines = text.split("\n");
  const cmd = lines.findIndex((l) => l.startsWith("$ "));
  const end = lines.findIndex((l) => l.startsWith("# exit code: "));
  const words = shellWords(lines[cmd].slice(2));
  const args = words.slice(words.indexOf("isar-sstate") + 1);
  const stdout = lines.slice(cmd + 1, end).map((l) => l + "\n").join("");
  return { args, stdout, exitCode: Number(lines[end].slice("# exit code: ".length)) };
}
