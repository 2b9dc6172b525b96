/**
 * Drop-in option handling: every command accepts every option of the Python tool (one
 * `$SSTATE_OPTS` for all commands of a CI script), says in one warning which have no effect on
 * it and exits as it would without them; `-q` works everywhere; options the Python tool never had
 * stay syntax errors where a command does not take them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkOptions } from "../src/cli/option_check.ts";
import { UsageError } from "../src/cli/errors.ts";
import { OPTION_SPECS } from "../src/cli/args.ts";
import { COMMANDS } from "../src/commands/registry.ts";
import { REFERENCE_OPTIONS } from "../src/commands/options.ts";
import { SIGINFO_DATA } from "./data/siginfo/golden.ts";
import { copyTree, fixtureCache, listFiles, runTool, tempDir } from "./helpers.ts";

/** The Python tool's options with a value to give them (its argparse setup). */
const VALUES: Record<string, string[]> = {
  verbose: ["-v"],
  "max-age": ["--max-age", "2w"],
  "max-sig-age": ["--max-sig-age", "8w"],
  filter: ["--filter", "hello"],
  arch: ["--arch", "arm64"],
  "sources-dir": ["--sources-dir", "/work/"],
  "build-dir": ["--build-dir", "/build/tmp/"],
  pedantic: ["--pedantic"],
  "exit-code": ["--exit-code", "0"],
  "lint-stamps": ["--lint-stamps"],
  "excluded-tasks": ["--excluded-tasks", "rootfs_wicenv,image_wic"],
};

/** The warning for `shown` options on `command`. */
function warning(shown: string[], command: string): string {
  const verb = shown.length === 1 ? "has" : "have";
  return `WARNING: ${shown.join(", ")} ${verb} no effect on '${command}' (accepted and ignored, ` +
    "as the Python isar-sstate does)";
}

Deno.test("options: every command accepts every option of the Python tool, -q too", async () => {
  assert.deepEqual(
    Object.keys(VALUES).sort(),
    REFERENCE_OPTIONS.filter((o) => o !== "help").sort(),
  );
  for (const entry of COMMANDS) {
    const command = await entry.load();
    for (const option of [...REFERENCE_OPTIONS, "quiet"]) {
      const given = new Map([[option, `--${option}`]]);
      const result = checkOptions(given, command);
      const used = command.options.includes(option) || ["help", "quiet"].includes(option);
      assert.equal(result, used ? null : warning([`--${option}`], command.name).slice(9));
    }
  }
});

Deno.test("options: options the Python tool never had stay strict where a command lacks them", async () => {
  let strict = 0;
  for (const entry of COMMANDS) {
    const command = await entry.load();
    for (const spec of OPTION_SPECS) {
      if (REFERENCE_OPTIONS.includes(spec.long) || command.options.includes(spec.long)) continue;
      if (["quiet", "debug", "version"].includes(spec.long)) continue;
      strict++;
      assert.throws(
        () => checkOptions(new Map([[spec.long, `--${spec.long}`]]), command),
        (err: Error) => err instanceof UsageError && /does not take them/.test(err.message),
        `${command.name} --${spec.long}`,
      );
    }
  }
  assert.ok(strict > 20);
  for (const args of [["info", "--dry-run"], ["dump", "--json"], ["lint", "--settle", "5"]]) {
    const r = await runTool([...args, fixtureCache("head", "remote")]);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, /unrecognized arguments: --\S+ \('\w+' does not take them\)/);
  }
});

/** Runs `args` with and without `extra`; the output differs by the one warning line only. */
async function sameWithWarning(
  args: string[],
  extra: string[],
  shown: string[],
  normalize = (text: string) => text,
): Promise<void> {
  const base = await runTool(args);
  const withExtra = await runTool([...args.slice(0, 1), ...extra, ...args.slice(1)]);
  const what = `${args[0]} ${extra.join(" ")}`;
  assert.equal(withExtra.code, base.code, `${what}: ${withExtra.stdout}${withExtra.stderr}`);
  const [first, ...rest] = withExtra.stdout.split("\n");
  assert.equal(first, warning(shown, args[0]), what);
  assert.equal(normalize(rest.join("\n")), normalize(base.stdout), what);
  assert.equal(withExtra.stdout.match(/^WARNING: /gm)?.length, 1, what);
}

const LINT_ONLY = [
  "sources-dir",
  "build-dir",
  "pedantic",
  "exit-code",
  "lint-stamps",
  "excluded-tasks",
];
const CLEAN_ONLY = ["max-age", "max-sig-age"];
const argsOf = (options: string[]) => options.flatMap((o) => VALUES[o]);
const shownOf = (options: string[]) => options.map((o) => VALUES[o][0]);

Deno.test("options: a command ignores the others' options with one warning, exit code unchanged", async () => {
  const remote = fixtureCache("head", "remote");
  const local = fixtureCache("head", "local");
  const pair = `${SIGINFO_DATA}head/var-words`;
  const cases: [string[], string[]][] = [
    [["info", "-v", remote], [...CLEAN_ONLY, ...LINT_ONLY]],
    [["analyze", local, remote], ["verbose", ...CLEAN_ONLY, ...LINT_ONLY]],
    [["lint", remote], CLEAN_ONLY],
    [["diff", `${pair}/a.siginfo`, `${pair}/b.siginfo`], ["verbose", "filter", ...CLEAN_ONLY]],
    [["dump", `${pair}/a.siginfo`], Object.keys(VALUES)],
  ];
  for (const [args, ignored] of cases) {
    await sameWithWarning(args, argsOf(ignored), shownOf(ignored));
  }
});

Deno.test("options: upload, clean and watch ignore the others' options with one warning", async () => {
  await using dir = await tempDir();
  const local = fixtureCache("head", "local");
  const timing = (text: string) => text.replace(/ in \d+\.\ds$/m, "").replaceAll(dir.path, "D");
  for (const name of ["a", "b"]) {
    await copyTree(fixtureCache("head", "remote"), join(dir.path, name));
  }
  const upload = async (target: string, extra: string[]) =>
    await runTool(["upload", ...extra, local, join(dir.path, target)]);
  const base = await upload("a", []);
  const ignored = [...CLEAN_ONLY, ...LINT_ONLY];
  const withExtra = await upload("b", argsOf(ignored));
  assert.equal(withExtra.code, base.code);
  const [first, ...rest] = withExtra.stdout.split("\n");
  assert.equal(first, warning(shownOf(ignored), "upload"));
  const asA = rest.join("\n").replaceAll(join(dir.path, "b"), join(dir.path, "a"));
  assert.equal(timing(asA), timing(base.stdout));
  assert.deepEqual(await listFiles(join(dir.path, "b")), await listFiles(join(dir.path, "a")));

  const clean = await runTool([
    "clean",
    ...argsOf(LINT_ONLY),
    "--max-age",
    "9999w",
    join(dir.path, "b"),
  ]);
  assert.equal(clean.code, 0, clean.stdout);
  assert.equal(clean.stdout.split("\n")[0], warning(shownOf(LINT_ONLY), "clean"));
  assert.match(clean.stdout, /^INFO: done: 0 deleted, 0 failed/m);

  const src = join(dir.path, "watched");
  const watch = await runTool([
    "watch",
    ...argsOf([...CLEAN_ONLY, ...LINT_ONLY]),
    "--index-file",
    "",
    src,
    join(dir.path, "c"),
    "--",
    "true",
  ]);
  assert.equal(watch.code, 0, watch.stdout + watch.stderr);
  assert.equal(
    watch.stdout.match(/^WARNING: .*/gm)?.join("\n"),
    warning(shownOf([...CLEAN_ONLY, ...LINT_ONLY]), "watch"),
  );
});

Deno.test("options: one $SSTATE_OPTS for all of a CI script's commands", async () => {
  // As Isar's CI passes one filter and age to every call.
  await using dir = await tempDir();
  const target = join(dir.path, "shared");
  const opts = ["-q", "--filter", "^(?!isar-image-)", "--max-age", "2w"];
  const local = fixtureCache("head", "local");
  const runs: [string[], number][] = [
    [["upload", ...opts, local, target], 0],
    [["info", ...opts, "-v", target], 0],
    [["analyze", ...opts, local, target], 0],
    [["lint", ...opts, "--exit-code", "0", target], 0],
    [["clean", ...opts, target], 0],
  ];
  for (const [args, code] of runs) {
    const r = await runTool(args);
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.doesNotMatch(r.stdout, /^INFO: /m, `${args[0]} -q`);
    const warnings = r.stdout.match(/^WARNING: .*/gm) ?? [];
    if (args[0] === "clean") assert.deepEqual(warnings, []);
    else assert.deepEqual(warnings, [warning(["--max-age"], args[0])]);
  }
  // The issue's own example: exit 0 where it used to be 2.
  const info = await runTool(["info", "--max-age", "2w", target]);
  assert.equal(info.code, 0, info.stderr);
});

Deno.test("options: -q works for lint and analyze, which print no INFO lines anyway", async () => {
  const remote = fixtureCache("head", "remote");
  const local = fixtureCache("head", "local");
  for (const args of [["lint", remote], ["analyze", local, remote]]) {
    const [plain, quiet] = [await runTool(args), await runTool([args[0], "-q", ...args.slice(1)])];
    assert.equal(quiet.code, plain.code, quiet.stderr);
    assert.equal(quiet.stdout, plain.stdout);
  }
});
