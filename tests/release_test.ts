/**
 * Delivery: the tree a binary is compiled from (scripts/stage.ts), the stand-in that runs it away
 * from the checkout (scripts/compile.sh --standin), the test suite's binary mode
 * (scripts/test.sh --binary), and the release workflow with its YAML check.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fixtureCache, listFiles, tempDir } from "./helpers.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const WORKFLOW = join(ROOT, ".github/workflows/release.yml");

/** Runs `cmd ARGS` in `cwd` (the checkout by default); what it printed and returned. */
async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: options.cwd ?? ROOT,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** What --version of a build from this checkout says in parentheses, as a pattern. */
async function buildPattern(): Promise<string> {
  const rev = await run("git", ["rev-parse", "--short=12", "HEAD"]).catch(() => undefined);
  return rev?.code === 0 ? `git ${rev.stdout.trim()}(-dirty)?` : "unknown revision";
}

const VERSION = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).version as string;

Deno.test("stage: the binary's tree holds main.ts's graph and the worker scripts, nothing else", async () => {
  await using dir = await tempDir();
  const stage = join(dir.path, "stage");
  const r = await run(Deno.execPath(), ["run", "-A", "--quiet", "scripts/stage.ts", stage]);
  assert.equal(r.code, 0, r.stderr);
  // The workers are loaded by URL, not imported: they are named for `deno compile --include`.
  assert.deepEqual(r.stdout.split("\n").filter(Boolean).sort(), [
    "src/backends/file/copy_worker.ts",
    "src/backends/file/walk_worker.ts",
  ]);
  const files = await listFiles(stage);
  for (const f of ["main.ts", "deno.json", "deno.lock", "src/cli/build_info.ts"]) {
    assert.ok(files.includes(f), f);
  }
  const outside = files.filter((f) => !f.startsWith("src/"));
  assert.deepEqual(outside, ["deno.json", "deno.lock", "main.ts"], "no tests, scripts or data");
  const info = await Deno.readTextFile(join(stage, "src/cli/build_info.ts"));
  assert.match(info, new RegExp(`export const BUILD = "${await buildPattern()}"`));
  // A second stage never mixes with the first.
  const again = await run(Deno.execPath(), ["run", "-A", "--quiet", "scripts/stage.ts", stage]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /is not empty/);
});

Deno.test("compile --standin: runs away from the checkout, names its revision, runs its workers", async () => {
  await using dir = await tempDir();
  const made = await run("bash", ["scripts/compile.sh", "--standin", join(dir.path, "bin")]);
  assert.equal(made.code, 0, made.stderr);
  const tool = made.stdout.trim();
  assert.equal(tool, join(dir.path, "bin", "isar-sstate"));
  const version = await run(tool, ["--version"], { cwd: dir.path });
  assert.equal(version.code, 0, version.stderr);
  assert.match(
    version.stdout,
    new RegExp(`^isar-sstate ${VERSION} \\(${await buildPattern()}\\)\n$`),
  );
  // An upload lists the source on the walk worker and copies on the copy workers.
  const target = join(dir.path, "target");
  const upload = await run(tool, ["upload", fixtureCache("head", "local"), target], {
    cwd: dir.path,
  });
  assert.equal(upload.code, 0, upload.stdout + upload.stderr);
  assert.deepEqual(await listFiles(target), await listFiles(fixtureCache("head", "local")));
});

Deno.test("a build without its worker scripts says so, and still uploads on the main thread", async () => {
  await using dir = await tempDir();
  const made = await run("bash", ["scripts/compile.sh", "--standin", join(dir.path, "bin")]);
  assert.equal(made.code, 0, made.stderr);
  const app = join(dir.path, "bin", "app");
  const workers = (await listFiles(app)).filter((f) => f.endsWith("_worker.ts"));
  assert.equal(workers.length, 2, String(workers));
  for (const w of workers) await Deno.remove(join(app, w));
  const target = join(dir.path, "target");
  const r = await run(made.stdout.trim(), ["upload", fixtureCache("head", "local"), target]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /^WARNING: the copy threads could not run \(Module not found .*copy_worker\.ts.*\); copying on the main thread instead, more slowly$/m,
  );
  assert.deepEqual(await listFiles(target), await listFiles(fixtureCache("head", "local")));
  // A listing that runs long enough takes a helper thread (or would): 256 directories of 100.
  const big = join(dir.path, "big");
  for (let d = 0; d < 256; d++) {
    const sub = join(big, d.toString(16).padStart(2, "0"));
    await Deno.mkdir(sub, { recursive: true });
    for (let f = 0; f < 100; f++) await Deno.writeFile(join(sub, `f${f}`), new Uint8Array());
  }
  const info = await run(made.stdout.trim(), ["info", big]);
  assert.equal(info.code, 0, info.stdout + info.stderr);
  assert.match(info.stdout, /^WARNING: the listing threads could not run \(.*walk_worker\.ts/m);
});

Deno.test("binary mode: with ISAR_SSTATE_TEST_BINARY every run of the tool runs that binary", async () => {
  await using dir = await tempDir();
  const fake = join(dir.path, "fake-isar-sstate");
  await Deno.writeTextFile(fake, '#!/bin/sh\necho "fake: $*"\n', { mode: 0o755 });
  const helpers = new URL("./helpers.ts", import.meta.url).href;
  const probe = `
    const { runTool, spawnTool, toolArgv } = await import(${JSON.stringify(helpers)});
    console.log((await runTool(["info", "x"])).stdout.trim());
    console.log((await runTool(["info", "y"], {}, { restricted: true })).stdout.trim());
    console.log((await spawnTool(["--version"]).finish()).stdout.trim());
    console.log(toolArgv(["a"]).at(-2) === ${JSON.stringify(fake)});`;
  const r = await run(Deno.execPath(), ["eval", probe], {
    env: { ISAR_SSTATE_TEST_BINARY: fake },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "fake: info x\nfake: info y\nfake: --version\ntrue\n");
  // scripts/test.sh refuses what it cannot run, before it starts anything.
  const missing = await run("bash", ["scripts/test.sh", "--binary", join(dir.path, "missing")]);
  assert.equal(missing.code, 2);
  assert.equal(
    missing.stderr,
    `test.sh: '${join(dir.path, "missing")}' is not an executable file\n`,
  );
});

/** What the tests read of a GitHub Actions workflow. */
interface Workflow {
  on: { push: { tags: string[] } };
  jobs: Record<string, {
    needs?: string | string[];
    container?: { image: string };
    permissions?: Record<string, string>;
    steps: { run?: string }[];
  }>;
}

/** The commands of `job`'s steps, joined. */
function commands(workflow: Workflow, job: string): string {
  return workflow.jobs[job].steps.map((s) => s.run ?? "").join("\n");
}

Deno.test("release workflow: compiles both targets, tests x86_64 with --binary, publishes with sums", async () => {
  const r = await run("bash", ["scripts/check-yaml.sh", "--json", WORKFLOW]);
  assert.equal(r.code, 0, r.stderr);
  const wf: Workflow = JSON.parse(r.stdout);
  assert.deepEqual(wf.on.push.tags, ["v*"]);
  const compile = commands(wf, "compile");
  assert.match(compile, /bash scripts\/compile\.sh x86_64\n\s*bash scripts\/compile\.sh aarch64/);
  assert.match(compile, /sha256sum isar-sstate-x86_64-linux isar-sstate-aarch64-linux/);
  assert.match(compile, /--version/);
  assert.deepEqual(wf.jobs.test.needs, "compile");
  assert.equal(wf.jobs.test.container?.image, "debian:12");
  const test = commands(wf, "test");
  assert.match(test, /bash scripts\/setup-servers\.sh/);
  assert.match(test, /bash scripts\/test\.sh --binary dist\/isar-sstate-x86_64-linux/);
  assert.deepEqual(wf.jobs.publish.needs, ["compile", "test"]);
  assert.equal(wf.jobs.publish.permissions?.contents, "write");
  assert.match(
    commands(wf, "publish"),
    /gh release create [\s\S]*isar-sstate-x86_64-linux isar-sstate-aarch64-linux SHA256SUMS/,
  );
});

Deno.test("check-yaml: broken YAML fails with file, line and problem; valid YAML passes", async () => {
  await using dir = await tempDir();
  const good = join(dir.path, "good.yml");
  const bad = join(dir.path, "bad.yml");
  const twice = join(dir.path, "twice.yml");
  await Deno.writeTextFile(good, "on:\n  push:\n    tags: [v*]\n");
  await Deno.writeTextFile(bad, "jobs:\n  a:\n    - run: x\n     needs: b\n");
  await Deno.writeTextFile(twice, "jobs:\n  a: 1\n  a: 2\n");
  const ok = await run("bash", ["scripts/check-yaml.sh", good, WORKFLOW]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout + ok.stderr, "");
  const broken = await run("bash", ["scripts/check-yaml.sh", good, bad, twice]);
  assert.equal(broken.code, 1);
  const lines = broken.stderr.trim().split("\n");
  assert.equal(lines.length, 2, broken.stderr);
  assert.match(lines[0], new RegExp(`^${bad}:4:\\d+: `));
  assert.equal(lines[1], `${twice}:3:3: found duplicate key 'a'`);
});
