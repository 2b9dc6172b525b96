/**
 * Structured differences: each finding of a signature comparison as a record (what changed, old
 * and new values, the dependency path) beside bitbake's text, in `analyze --json` and from
 * `compareFindings` itself; the text stays exactly bitbake's.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { compareFindings, compareSigfiles } from "../src/siginfo/compare.ts";
import type { Change } from "../src/siginfo/changes.ts";
import { readSiginfoFile } from "../src/siginfo/read.ts";
import type { SigInfo } from "../src/siginfo/types.ts";
import { fixturePairs, SIGINFO_DATA } from "./data/siginfo/golden.ts";
import { copyTree, fixtureCache, listFiles, runTool, tempDir } from "./helpers.ts";
import { assertDocumented } from "./json_schema.ts";

/** A small signature; `overrides` replace fields. */
function sig(overrides: Partial<SigInfo> = {}): SigInfo {
  return {
    format: "json",
    legacy_names: false,
    task: "do_x",
    basehash_ignore_vars: new Set(["IGN"]),
    taskhash_ignore_tasks: null,
    taskdeps: ["V"],
    basehash: "b1",
    gendeps: { V: new Set() },
    varvals: { V: "1", do_x: "run" },
    runtaskdeps: [],
    file_checksum_values: [],
    runtaskhashes: {},
    ...overrides,
  };
}

/** The records without the text. */
async function records(a: SigInfo, b: SigInfo): Promise<Partial<Change>[]> {
  return (await compareFindings(a, b)).map((f) => f.change);
}

Deno.test("findings: the text of every fixture pair is compareSigfiles' text", async () => {
  for (const pair of fixturePairs()) {
    const dir = `${SIGINFO_DATA}${pair}`;
    const [a, b] = [
      await readSiginfoFile(`${dir}/a.siginfo`),
      await readSiginfoFile(`${dir}/b.siginfo`),
    ];
    for (const color of [false, true]) {
      const findings = await compareFindings(a, b, { color });
      assert.deepEqual(findings.map((f) => f.text), await compareSigfiles(a, b, { color }), pair);
      assert.ok(findings.every((f) => f.change.path.length === 0));
    }
  }
});

Deno.test("findings: variables, their dependencies, basehash, taint as records", async () => {
  const a = sig({ gendeps: { V: new Set() }, varvals: { V: null, do_x: "run" } });
  const b = sig({
    basehash: "b2",
    gendeps: { V: new Set(["A"]), W: new Set() },
    varvals: { V: "x y", do_x: "run" },
    taint: "nostamp:1234",
  });
  const base = { path: [] };
  assert.deepEqual(await records(a, b), [
    { ...base, what: "basehash", change: "changed", name: null, old: "b1", new: "b2" },
    { ...base, what: "variableDependencies", change: "changed", name: "V", old: [], new: ["A"] },
    { ...base, what: "variableDependencies", change: "added", name: "W", old: null, new: null },
    { ...base, what: "variable", change: "changed", name: "V", old: null, new: "x y" },
    { ...base, what: "taint", change: "changed", name: null, old: null, new: "nostamp:1234" },
  ]);
});

Deno.test("findings: file checksums and task lists as records", async () => {
  const files = await records(
    sig({ file_checksum_values: [["f1", "1"], ["f2", "2"]] }),
    sig({ file_checksum_values: [["f1", "9"], ["f3", "3"]] }),
  );
  assert.deepEqual(files.map((c) => [c.what, c.change, c.name, c.old, c.new]), [
    ["fileChecksum", "changed", "f1", "1", "9"],
    ["fileChecksum", "added", "f3", null, null],
    ["fileChecksum", "removed", "f2", null, null],
  ]);
  const tasks = await records(
    sig({ runtaskdeps: ["x", "y"], runtaskhashes: { x: "1", y: "5" } }),
    sig({ runtaskdeps: ["z", "y"], runtaskhashes: { z: "2", y: "6" } }),
  );
  assert.deepEqual(tasks.map((c) => [c.what, c.change, c.name, c.old, c.new]), [
    ["taskList", "changed", null, ["x", "y"], ["z", "y"]],
    ["taskList", "changed", null, ["x", "y"], ["z", "y"]],
    ["dependency", "added", "z", null, "2"],
    ["dependency", "removed", "x", "1", null],
    ["dependencyHash", "changed", "y", "5", "6"],
  ]);
});

Deno.test("analyze --json: each difference as a record with its dependency path", async () => {
  const r = await runTool([
    "analyze",
    "--json",
    fixtureCache("head", "local"),
    fixtureCache("head", "remote"),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assertDocumented("analyze", json);
  const hello = json.items.find((i: { pn: string }) => i.pn === "hello");
  const match = hello.matches.find((m: { hash: string }) => m.hash.startsWith("a680bd2e"));
  const local = "hello:do_local_isarapt";
  const prepare = "hello:do_prepare_build";
  assert.deepEqual(
    match.changes.map((c: Change) => [c.what, c.name, c.path]),
    [
      ["dependencyHash", local, []],
      ["dependencyHash", prepare, [local]],
      ["basehash", null, [local, prepare]],
      ["variable", "DEBIAN_DEPENDS", [local, prepare]],
    ],
  );
  const variable = match.changes[3];
  assert.deepEqual([variable.change, variable.old, variable.new], [
    "changed",
    "libc6",
    "libc6, libgcc-s1",
  ]);
  assert.match(match.changes[0].old, /^7adf8f70[0-9a-f]{56}$/, "full hashes in the records");
  assert.deepEqual(variable.text, [
    "Variable DEBIAN_DEPENDS value changed:",
    '"[-libc6-] {+libc6, libgcc-s1+}"',
  ]);
  // The text lines stay, as before.
  assert.deepEqual(match.differences, [
    "Hash for task dependency hello:do_local_isarapt changed from 7adf8f70 to ba500025",
    "    Hash for task dependency hello:do_prepare_build changed from a8760ec4 to 492eb630",
    "        basehash changed from 7462bb9f to 0e02dd16",
    "        Variable DEBIAN_DEPENDS value changed:",
    '        "[-libc6-] {+libc6, libgcc-s1+}"',
  ]);
});

Deno.test("analyze --json: a dependency signature that is missing is a record too", async () => {
  await using dir = await tempDir();
  const [local, remote] = [join(dir.path, "local"), join(dir.path, "remote")];
  await copyTree(fixtureCache("head", "local"), local);
  await copyTree(fixtureCache("head", "remote"), remote);
  // Without hello's prepare_build signatures the recursion stops one level down.
  for (const cache of [local, remote]) {
    for (const f of await listFiles(cache)) {
      if (f.includes("sstate:hello:") && f.includes("_prepare_build.")) {
        await Deno.remove(join(cache, f));
      }
    }
  }
  const r = await runTool(["analyze", "--json", "--filter", "hello$", local, remote]);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assertDocumented("analyze", json);
  const match = json.items[0].matches.find((m: { hash: string }) => m.hash.startsWith("a680bd2e"));
  const missing = match.changes.at(-1);
  assert.deepEqual(
    [missing.what, missing.change, missing.name, missing.path, missing.new],
    ["missingSignature", null, "hello:do_prepare_build", ["hello:do_local_isarapt"], null],
  );
  assert.match(missing.old, /^a8760ec4[0-9a-f]{56}$/);
  assert.deepEqual(missing.text, [
    "could not find remote signature a8760ec4 for job hello:do_prepare_build",
  ]);
  assert.equal(
    match.differences.at(-1),
    "    could not find remote signature a8760ec4 for job hello:do_prepare_build",
  );
});
