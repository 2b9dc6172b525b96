/**
 * `diff` and `dump` through the CLI: bitbake's recorded outputs for the fixture pairs, recursion
 * into changed dependencies found in sstate caches, and errors.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertMatchesGolden, SIGINFO_DATA } from "./data/siginfo/golden.ts";
import { fixtureCache, listFiles, runTool, tempDir } from "./helpers.ts";

/** The CLI's output as the entry list assertMatchesGolden expects (bitbake prints them joined). */
function printed(stdout: string): string[] {
  if (stdout === "") return [];
  assert.ok(stdout.endsWith("\n"));
  return [stdout.slice(0, -1)];
}

const HEAD_PAIRS = [...Deno.readDirSync(`${SIGINFO_DATA}head`)]
  .filter((e) => e.isDirectory).map((e) => `head/${e.name}`).sort();

for (const pair of [...HEAD_PAIRS, "2022/image-deps-changed", "2022/path-leak-vars"]) {
  const dir = `${SIGINFO_DATA}${pair}`;
  Deno.test(`diff ${pair}: diff.txt and diff.color.txt`, async () => {
    for (const [color, golden] of [["never", "diff.txt"], ["always", "diff.color.txt"]]) {
      const r = await runTool(["diff", "--color", color, `${dir}/a.siginfo`, `${dir}/b.siginfo`]);
      assert.equal(r.code, 0, r.stderr);
      assertMatchesGolden(printed(r.stdout), `${dir}/${golden}`);
    }
  });
  Deno.test(`dump ${pair}: a.dump.txt and b.dump.txt`, async () => {
    for (const side of ["a", "b"]) {
      const r = await runTool(["dump", `${dir}/${side}.siginfo`]);
      assert.equal(r.code, 0, r.stderr);
      assertMatchesGolden(printed(r.stdout), `${dir}/${side}.dump.txt`);
    }
  });
}

Deno.test("diff: no colour by default when stdout is not a terminal", async () => {
  const dir = `${SIGINFO_DATA}head/var-words`;
  const r = await runTool(["diff", `${dir}/a.siginfo`, `${dir}/b.siginfo`]);
  assertMatchesGolden(printed(r.stdout), `${dir}/diff.txt`);
});

/** The absolute path of the siginfo in `cache` whose hash starts with `hash`. */
async function siginfoOf(cache: string, hash: string): Promise<string> {
  const files = await listFiles(cache);
  return join(cache, files.find((f) => f.includes(`:${hash}`) && f.endsWith(".siginfo"))!);
}

// hello:do_dpkg_build of builds A0 and A (both in the remote cache): only
// DEBIAN_DEPENDS changed, two dependency levels below.
const REMOTE = fixtureCache("head", "remote");
const A0_TO_A = [
  "Hash for task dependency hello:do_local_isarapt changed from " +
  "2e4461738cdda5ddaa01749426114a66bd39b5e7bffece80133bf91bf02781a7 to " +
  "7adf8f703ed8574a63f13139399e392bec9178d5f791b1064cda6a8cba6acbdd",
  "    Hash for task dependency hello:do_prepare_build changed from " +
  "e449f51bc60baf940bd15f743a9e15938bb83dc52de36ec1589ae7e1f5e28ed3 to " +
  "a8760ec4de06e869b2b262c51327d249621fe84ec15562a80398e2bd43e01094",
  "        basehash changed from " +
  "590a272491eb696540e17272df4baad94a9d4408bfaca14853aad8a511eacbbb to " +
  "7462bb9fa13905d56d17e3c1dece612cd0c9d276b6ea9cd1aa3fb7ac6159d09d",
  "        Variable DEBIAN_DEPENDS value changed:",
  '        "libc6 [-(>= 2.34)-]"',
  "",
].join("\n");

Deno.test("diff: without --cache-dir, only the first level, as bitbake-diffsigs A B", async () => {
  const [a, b] = [await siginfoOf(REMOTE, "90ca23b0"), await siginfoOf(REMOTE, "a680bd2e")];
  const r = await runTool(["diff", a, b]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.equal(lines[0], "runtaskdeps changed:");
  assert.equal(lines.at(-1), A0_TO_A.split("\n")[0], "the changed dependency, not followed");
  assert.ok(lines.every((l) => !l.startsWith("    ")), "no nested lines");
  const followed = await runTool(["diff", "--cache-dir", REMOTE, a, b]);
  assert.equal(followed.stdout, A0_TO_A);
});

Deno.test("diff --cache-dir: files outside a cache, dependencies looked up in DIR", async () => {
  await using dir = await tempDir();
  const [a, b] = [join(dir.path, "a.siginfo"), join(dir.path, "b.siginfo")];
  await Deno.copyFile(await siginfoOf(REMOTE, "90ca23b0"), a);
  await Deno.copyFile(await siginfoOf(REMOTE, "a680bd2e"), b);
  const recursive = await runTool(["diff", "--cache-dir", REMOTE, a, b]);
  assert.equal(recursive.code, 0, recursive.stderr);
  assert.equal(recursive.stdout, A0_TO_A);

  // Colour reaches the nested lines too.
  const colored = await runTool(["diff", "--color", "always", "--cache-dir", REMOTE, a, b]);
  assert.ok(colored.stdout.includes("\n        \x1b[1mbasehash changed\x1b[0m from 590a2724"));

  // Without a cache: bitbake's plain comparison.
  const plain = await runTool(["diff", a, b]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.deepEqual(plain.stdout.split("\n").slice(0, 2), [
    "runtaskdeps changed:",
    "hello:do_local_isarapt with hash " +
    "2e4461738cdda5ddaa01749426114a66bd39b5e7bffece80133bf91bf02781a7",
  ]);
  assert.equal(plain.stdout.split("\n").length, 6);

  // A cache without the dependencies' signatures: no recursion either.
  const elsewhere = await runTool(["diff", "--cache-dir", dir.path, a, b]);
  assert.equal(elsewhere.stdout, plain.stdout);
});

Deno.test("diff --cache-dir: a missing directory is an error", async () => {
  const dir = `${SIGINFO_DATA}head/var-words`;
  const r = await runTool([
    "diff",
    "--cache-dir",
    "/nonexistent/cache",
    `${dir}/a.siginfo`,
    `${dir}/b.siginfo`,
  ]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "ERROR: cache directory /nonexistent/cache does not exist\n");
});

Deno.test("diff and dump: unreadable or corrupt files are one ERROR line, exit 1", async () => {
  await using dir = await tempDir();
  const good = `${SIGINFO_DATA}head/var-words/a.siginfo`;
  const truncated = join(dir.path, "truncated.siginfo");
  const bytes = await Deno.readFile(good);
  await Deno.writeFile(truncated, bytes.subarray(0, bytes.length >> 1));
  const missing = join(dir.path, "missing.siginfo");
  for (
    const [args, file] of [
      [["diff", good, truncated], truncated],
      [["diff", missing, good], missing],
      [["dump", truncated], truncated],
      [["dump", missing], missing],
      [["dump", `${SIGINFO_DATA}head/var-words/ABOUT.txt`], "ABOUT.txt"],
    ]
  ) {
    const r = await runTool(args as string[]);
    assert.equal(r.code, 1, r.stdout);
    const lines = r.stdout.split("\n");
    assert.equal(lines.length, 2, r.stdout);
    assert.ok(lines[0].startsWith("ERROR: ") && lines[0].includes(file as string), lines[0]);
    assert.equal(r.stderr, "");
  }
});

Deno.test("diff and dump: the number of files", async () => {
  const good = `${SIGINFO_DATA}head/var-words/a.siginfo`;
  const one = await runTool(["diff", good]);
  assert.equal(one.code, 1);
  assert.equal(one.stdout, "ERROR: 'diff' needs two signature files\n");
  const two = await runTool(["dump", good, good]);
  assert.equal(two.code, 1);
  assert.equal(two.stdout, "ERROR: 'dump' takes one signature file\n");
});
