/** `lint`: the reference's recorded runs, its options, and the improvements over it. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseStampName } from "../src/cache/stamps.ts";
import { stripAnsi } from "../src/cli/output.ts";
import { findPathLeaks, fnmatchToRegExp, formatFinding } from "../src/commands/lint.ts";
import type { SigInfo } from "../src/siginfo/types.ts";
import { loadGolden } from "./golden.ts";
import { copyTree, fixtureCache, listFiles, runTool, tempDir } from "./helpers.ts";

const HEAD_DIRS = [
  "--sources-dir",
  "/tmp/isar-lab/head/dev/work/",
  "--build-dir",
  "/tmp/isar-lab/head/dev/build/tmp/",
];
const HEADER = "\x1b[1;33m==== issues found in ";

/** The `==== issues found` blocks, sorted (the reference printed them in directory order). */
function splitOutput(stdout: string): { blocks: string[]; other: string[] } {
  const blocks: string[][] = [];
  const other: string[] = [];
  let inBlock = false;
  for (const line of stdout.split("\n")) {
    if (line.startsWith(HEADER)) {
      blocks.push([line]);
      inBlock = true;
    } else if (inBlock && line.startsWith("\x1b[0;3")) blocks.at(-1)!.push(line);
    else {
      inBlock = false;
      other.push(line);
    }
  }
  return { blocks: blocks.map((b) => b.join("\n")).sort(), other };
}

async function checkGolden(name: string): Promise<void> {
  const golden = await loadGolden("head", name);
  const r = await runTool([...golden.args, "--color", "always"]);
  const ours = splitOutput(r.stdout);
  const theirs = splitOutput(golden.stdout);
  assert.deepEqual(ours.blocks, theirs.blocks, r.stdout + r.stderr);
  assert.deepEqual(ours.other, theirs.other);
  assert.equal(r.code, golden.exitCode);
}

for (const name of ["lint-local", "lint-local-verbose", "lint-stamps", "lint-remote-defaults"]) {
  Deno.test(`lint: golden head/${name}`, () => checkGolden(name));
}

Deno.test("lint: without a terminal or --color the same text comes without colour codes", async () => {
  const golden = await loadGolden("head", "lint-local");
  const r = await runTool(golden.args);
  const plain = stripAnsi(golden.stdout);
  assert.deepEqual(r.stdout.split("\n").sort(), plain.split("\n").sort());
  assert.ok(!r.stdout.includes("\x1b"));
});

Deno.test("lint: signatures are reported in path order, the same on every run", async () => {
  const args = ["lint", ...HEAD_DIRS, fixtureCache("head", "local")];
  const [a, b] = await Promise.all([runTool(args), runTool(args)]);
  assert.equal(a.stdout, b.stdout);
  // In an sstate cache the path starts with the hash, so path order is hash order.
  const hashes = [...a.stdout.matchAll(/\(([0-9a-f]{8})\) ====$/gm)].map((m) => m[1]);
  assert.deepEqual(hashes, ["8b26f422", "ba54fda3", "c34670ab"]);
});

Deno.test("lint: --exit-code N replaces the issue count, out-of-range N is refused", async () => {
  const local = fixtureCache("head", "local");
  const zero = await runTool(["lint", ...HEAD_DIRS, "--exit-code", "0", local]);
  assert.equal(zero.code, 0);
  assert.match(zero.stdout, /^found cachability issues \(scanned 91 signatures\)$/m);
  assert.equal((await runTool(["lint", ...HEAD_DIRS, "--exit-code=7", local])).code, 7);
  // Like the reference, N is returned even when nothing was found.
  assert.equal(
    (await runTool(["lint", "--exit-code", "3", fixtureCache("head", "remote")])).code,
    3,
  );
  const bad = await runTool(["lint", "--exit-code", "256", local]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, "ERROR: --exit-code must be between 0 and 255, got 256\n");
});

Deno.test("lint: --pedantic also checks the wic tasks excluded by default", async () => {
  const local = fixtureCache("head", "local");
  const r = await runTool(["lint", "--pedantic", ...HEAD_DIRS, local]);
  assert.equal(r.code, 6, r.stdout);
  const headers = r.stdout.split("\n").filter((l) => l.startsWith("==== issues found in "));
  assert.equal(headers.filter((l) => l.includes(":rootfs_wicenv (")).length, 2);
  assert.match(
    r.stdout,
    /-> path in build-dir: {3}WICVARS_DIR = "\/tmp\/isar-lab\/head\/dev\/build/,
  );
  assert.match(r.stdout, /^-> absolute paths: sources-dir 3, build-dir 3, other 1$/m);
  // The excluded tasks were counted as scanned before too.
  assert.match(r.stdout, /\(scanned 91 signatures\)/);
});

Deno.test("lint: --excluded-tasks takes comma-separated fnmatch patterns", async () => {
  const local = fixtureCache("head", "local");
  const none = await runTool(["lint", "--excluded-tasks", "", ...HEAD_DIRS, local]);
  assert.equal(none.code, 6);
  // The list replaces the default one: the wic tasks are checked again.
  const some = await runTool(["lint", "--excluded-tasks", "prep?re_*,[fu]*", ...HEAD_DIRS, local]);
  assert.equal(some.code, 2, some.stdout);
  assert.match(some.stdout, /^-> absolute paths: sources-dir 0, build-dir 2, other 0$/m);
  const patterns = "prep?re_*,[fu]*,*wic*";
  const r = await runTool(["lint", "--excluded-tasks", patterns, ...HEAD_DIRS, local]);
  assert.equal(r.code, 0, r.stdout);
  assert.equal(r.stdout, "no cachability issues found (scanned 91 signatures)\n");
  const bad = await runTool(["lint", "--excluded-tasks", "fetch,[z-a]", local]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, "ERROR: invalid --excluded-tasks pattern '[z-a]'\n");
});

Deno.test("lint: --filter and --arch select signatures before they are counted", async () => {
  const local = fixtureCache("head", "local");
  const r = await runTool(["lint", "--filter", "cfg-l", "--arch", "arm64", ...HEAD_DIRS, local]);
  const cfgLeakArm64 = (await listFiles(local)).filter((f) =>
    /sstate:cfg-leak:[^:]*:[^:]*:[^:]*:arm64:.*\.siginfo$/.test(f)
  );
  assert.equal(r.code, 2);
  assert.deepEqual(r.stdout.split("\n").filter((l) => l.startsWith("====")), [
    "==== issues found in arm64:cfg-leak:prepare_build (ba54fda3) ====",
  ]);
  assert.match(r.stdout, new RegExp(`\\(scanned ${cfgLeakArm64.length} signatures\\)`));
});

Deno.test("lint: --json lists every finding, 'other' paths included", async () => {
  const r = await runTool(["lint", "--json", ...HEAD_DIRS, fixtureCache("head", "local")]);
  assert.equal(r.code, 4);
  const report = JSON.parse(r.stdout);
  assert.equal(report.scanned, 91);
  assert.deepEqual(report.counts, { "sources-dir": 3, "build-dir": 1, other: 1 });
  assert.deepEqual(report.unreadable, []);
  assert.deepEqual(
    report.issues.map((i: { pn: string; task: string }) => `${i.pn}:${i.task}`),
    ["cfg-leak:fetch", "cfg-leak:prepare_build", "cfg-leak:unpack"],
  );
  const prepare = report.issues[1];
  assert.deepEqual(Object.keys(prepare), ["path", "arch", "pn", "task", "hash", "findings"]);
  assert.match(prepare.path, /^ba\/54\/sstate:cfg-leak:.*_prepare_build\.tar\.zst\.siginfo$/);
  assert.equal(prepare.arch, "arm64");
  assert.match(prepare.hash, /^ba54fda3[0-9a-f]{56}$/);
  assert.deepEqual(prepare.findings, [
    {
      kind: "build-dir",
      variable: "CFG_STAGING_DIR",
      value: "/tmp/isar-lab/head/dev/build/tmp/deploy/cfg-leak",
    },
    { kind: "other", variable: "CFG_TOOL", value: "/usr/share/lab/cfgtool" },
    {
      kind: "sources-dir",
      variable: "LAYERDIR_lab",
      value: "/tmp/isar-lab/head/dev/work/meta-lab",
    },
  ]);
  const entry = "file:///tmp/isar-lab/head/dev/work/meta-lab/recipes-app/cfg-leak/files/leak.cfg";
  assert.deepEqual(report.issues[0].findings, [
    { kind: "sources-dir", variable: "SRC_URI", value: entry, srcUriEntry: entry },
  ]);
});

Deno.test("lint: a corrupt signature is a warning, counted, and the rest is still linted", async () => {
  await using dir = await tempDir();
  const target = join(dir.path, "local");
  await copyTree(fixtureCache("head", "local"), target);
  const victim = (await listFiles(target)).find((f) =>
    /:hello:.*_dpkg_build\.tar\.zst\.siginfo$/.test(f)
  )!;
  const bytes = await Deno.readFile(join(target, victim));
  await Deno.writeFile(join(target, victim), bytes.subarray(0, bytes.length >> 1));
  const r = await runTool(["lint", ...HEAD_DIRS, target]);
  assert.equal(r.code, 4, r.stdout);
  const warnings = r.stdout.split("\n").filter((l) => l.startsWith("WARNING: "));
  assert.equal(warnings.length, 1, r.stdout);
  assert.ok(warnings[0].startsWith(`WARNING: ${victim}: `), warnings[0]);
  assert.equal(r.stdout.match(/^==== issues found in /gm)?.length, 3);
  assert.match(r.stdout, /^found cachability issues \(scanned 91 signatures, 1 unreadable\)$/m);
  const json = JSON.parse((await runTool(["lint", "--json", ...HEAD_DIRS, target])).stdout);
  assert.equal(json.unreadable.length, 1);
  assert.equal(json.unreadable[0].path, victim);
});

Deno.test("lint: --lint-stamps needs a local target", async () => {
  for (const target of ["s3://bucket/stamps", "http://host/stamps", "https://host/stamps"]) {
    const r = await runTool(["lint", "--lint-stamps", target]);
    assert.equal(r.code, 1, target);
    assert.equal(r.stdout, "ERROR: --lint-stamps only works with local file targets\n");
  }
});

Deno.test("lint: a missing target or stamps directory is one error line, exit 1", async () => {
  await using dir = await tempDir();
  const missing = join(dir.path, "nothing-here");
  const r = await runTool(["lint", `file://${missing}`]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, `ERROR: target file://${missing} does not exist: nothing to lint\n`);
  // Isar's testsuite step: --exit-code does not turn a wrong path into a pass.
  const stamps = await runTool(["lint", "--lint-stamps", "--exit-code", "0", missing]);
  assert.equal(stamps.code, 1);
  assert.equal(
    stamps.stdout,
    `ERROR: stamps directory file://${missing} does not exist: nothing to lint\n`,
  );
  const json = await runTool(["lint", "--json", missing]);
  assert.equal(json.code, 1);
  assert.deepEqual(JSON.parse(json.stdout), {
    version: 1,
    error: `target file://${missing} does not exist: nothing to lint`,
    exit: 1,
  });
  assert.equal(json.stderr, `ERROR: target file://${missing} does not exist: nothing to lint\n`);
});

Deno.test("lint: bitbake 1.50 (pickle) signatures are linted too", async () => {
  const dirs = [
    "--sources-dir",
    "/tmp/isar-lab/2022/dev/work/",
    "--build-dir",
    "/tmp/isar-lab/2022/dev/build/tmp/",
  ];
  for (const cache of ["local", "local-stamps"]) {
    const r = await runTool([
      "lint",
      ...(cache === "local" ? [] : ["--lint-stamps"]),
      ...dirs,
      fixtureCache("2022", cache),
    ]);
    assert.doesNotMatch(r.stdout, /WARNING/, r.stdout);
    assert.match(r.stdout, /:cfg-leak:prepare_build \([0-9a-f]{8}\) ====\n/);
    assert.match(
      r.stdout,
      /^-> path in build-dir: {3}CFG_STAGING_DIR = "\/tmp\/isar-lab\/2022\/dev\/build\/tmp\/deploy\/cfg-leak"$/m,
    );
    assert.match(r.stdout, /^-> absolute paths: sources-dir 3, build-dir 1, other 1$/m);
    assert.equal(r.code, 4);
  }
});

function sig(varvals: Record<string, string | null>, extra: Partial<SigInfo> = {}): SigInfo {
  return {
    format: "json",
    legacy_names: false,
    basehash_ignore_vars: new Set(["IGNORED"]),
    taskhash_ignore_tasks: null,
    taskdeps: [],
    basehash: "",
    gendeps: {},
    varvals,
    ...extra,
  };
}

Deno.test("lint: which variables are checked and how paths are classified", () => {
  const dirs = { sourcesDir: "/src/", buildDir: "/src/build/" };
  const findings = findPathLeaks(
    sig({
      lower: "/src/x",
      do_task: "/src/x",
      IGNORED: "/src/x",
      PP: "/src/x",
      EMPTY: "  \n ",
      NONE: null,
      RELATIVE: "src/x /src/y",
      INDENTED: "  /src/build/out",
      OTHER: "/usr/bin",
      SRC_URI: " https://x/y.tgz file:///src/a.patch file://rel.patch\tfile:///opt/b ",
      TASKISH: "/src/task",
    }, { taskhash_ignore_tasks: "^TASKISH-recipe$" }),
    dirs,
  );
  assert.deepEqual(findings.map((f) => [f.kind, f.variable, f.srcUriEntry ?? f.value]), [
    ["build-dir", "INDENTED", "/src/build/out"],
    ["other", "OTHER", "/usr/bin"],
    ["sources-dir", "SRC_URI", "file:///src/a.patch"],
    ["other", "SRC_URI", "file:///opt/b"],
  ]);
  assert.equal(
    formatFinding(findings[0]),
    '\x1b[0;31m-> path in build-dir:   INDENTED = "/src/build/out"\x1b[0m',
  );
  assert.equal(
    formatFinding(findings[3]),
    '\x1b[0;34m-> other absolute path: SRC_URI entry "file:///opt/b"\x1b[0m',
  );
});

Deno.test("lint: fnmatch patterns for --excluded-tasks", () => {
  const cases: [string, string, boolean][] = [
    ["image_wic", "image_wic", true],
    ["image_wic", "image_wic2", false],
    ["image_*", "image_wic", true],
    ["*wic*", "rootfs_wicenv", true],
    ["rootfs_wic?nv", "rootfs_wicenv", true],
    ["[ab]x", "bx", true],
    ["[!ab]x", "bx", false],
    ["[!ab]x", "cx", true],
    ["[]]x", "]x", true],
    ["[x", "[x", true],
    ["a.b", "aXb", false],
    ["", "fetch", false],
  ];
  for (const [pattern, task, expected] of cases) {
    assert.equal(fnmatchToRegExp(pattern).test(task), expected, `${pattern} vs ${task}`);
  }
});

Deno.test("lint: stamps-directory signature names", () => {
  const hash = "c34670ab".padEnd(64, "0");
  assert.deepEqual(
    parseStampName(`debian-bookworm-arm64/cfg-leak/1.0-r0.do_unpack.sigdata.${hash}`),
    {
      arch: "debian-bookworm-arm64",
      pn: "cfg-leak",
      task: "unpack",
      hash,
    },
  );
  assert.equal(parseStampName(`a/b/1.0-r0.do_unpack.${hash}`), null);
  assert.equal(parseStampName(`a/b/1.0-r0.do_unpack.sigdata.${hash}.tmp`), null);
  assert.equal(parseStampName(`b/1.0-r0.do_unpack.sigdata.${hash}`), null);
});
