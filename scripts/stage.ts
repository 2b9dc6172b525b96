/**
 * Stages what the isar-sstate binary holds, and nothing else, in a directory of its own: main.ts
 * with its module graph; the scripts that its modules reference next to themselves
 * (`new URL("./copy_worker.ts", import.meta.url)`: workers, which `deno compile` embeds only when
 * named with `--include`) with their graphs; deno.json and deno.lock; and src/cli/build_info.ts
 * written anew, naming the git revision. `scripts/compile.sh` compiles the staged tree, or runs it
 * with deno as a stand-in for the binary; anything that reaches into the checkout breaks there.
 *
 * Usage: deno run -A scripts/stage.ts DIR
 * DIR must be empty or missing. Prints the referenced scripts (the `--include`s), relative to DIR.
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const BUILD_INFO = "src/cli/build_info.ts";
/** A script referenced by URL next to the module: loaded at run time, not imported. */
const SCRIPT_URL = /new URL\(\s*(["'])(\.\.?\/[^"']+\.ts)\1\s*,\s*import\.meta\.url\s*\)/g;

interface InfoModule {
  specifier: string;
  local?: string;
  error?: string;
}

/** The local files of `entry`'s module graph, relative to the checkout. */
async function graphOf(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  if (!out.success) throw new Error(`deno info ${entry} failed`);
  const { modules } = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: InfoModule[];
  };
  const broken = modules.filter((m) => m.error).map((m) => `${m.specifier}: ${m.error}`);
  if (broken.length > 0) throw new Error(broken.join("\n"));
  const files = modules.filter((m) => m.specifier.startsWith("file:") && m.local)
    .map((m) => relative(ROOT, m.local!));
  const outside = files.find((f) => f.startsWith("../"));
  if (outside) throw new Error(`${outside} lies outside the checkout`);
  return files;
}

/** Every file the binary holds (relative), and the scripts among them that need an `--include`. */
async function collect(): Promise<{ files: Set<string>; included: string[] }> {
  const files = new Set<string>(["deno.json", "deno.lock"]);
  const included: string[] = [];
  const entries = ["main.ts"];
  for (let entry = entries.shift(); entry !== undefined; entry = entries.shift()) {
    for (const file of await graphOf(entry)) {
      if (files.has(file)) continue;
      files.add(file);
      if (!file.endsWith(".ts")) continue;
      for (const [, , href] of (await Deno.readTextFile(join(ROOT, file))).matchAll(SCRIPT_URL)) {
        const script = relative(
          ROOT,
          fileURLToPath(new URL(href, pathToFileURL(join(ROOT, file)))),
        );
        if (!files.has(script) && !entries.includes(script)) {
          entries.push(script);
          included.push(script);
        }
      }
    }
  }
  if (!files.has(BUILD_INFO)) throw new Error(`${BUILD_INFO} is not in the module graph`);
  return { files, included };
}

/** Output of `git ARGS` in the checkout, or undefined where git cannot tell (no repository). */
async function git(...args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("git", {
      args: ["-C", ROOT, ...args],
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

/** "git REVISION", with "-dirty" if any staged file differs from it. */
async function buildName(files: string[]): Promise<string> {
  const revision = await git("rev-parse", "--short=12", "HEAD");
  if (!revision) return "unknown revision";
  const changed = await git("status", "--porcelain", "--", ...files);
  return `git ${revision}${changed ? "-dirty" : ""}`;
}

if (import.meta.main) {
  const dir = Deno.args[0];
  if (!dir || Deno.args.length > 1) {
    console.error("usage: deno run -A scripts/stage.ts DIR");
    Deno.exit(2);
  }
  await Deno.mkdir(dir, { recursive: true });
  for await (const entry of Deno.readDir(dir)) {
    console.error(`stage: ${dir} is not empty (${entry.name})`);
    Deno.exit(1);
  }
  const { files, included } = await collect();
  for (const file of files) {
    await Deno.mkdir(dirname(join(dir, file)), { recursive: true });
    await Deno.copyFile(join(ROOT, file), join(dir, file));
  }
  const build = await buildName([...files].filter((f) => f !== BUILD_INFO));
  await Deno.writeTextFile(
    join(dir, BUILD_INFO),
    `// Written by scripts/stage.ts for a compiled binary.\n` +
      `/** Which build this is, for \`--version\`. */\n` +
      `export const BUILD = ${JSON.stringify(build)} as string;\n`,
  );
  for (const script of included) console.log(script);
}
