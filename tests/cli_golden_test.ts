/**
 * The reference tool's recorded runs on real caches, reproduced. Where the reference printed
 * Python-set order, lines are compared without regard to that order (see tests/data/cli/*.setlines).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadGolden } from "./golden.ts";
import { copyTree, fixtureCache, runTool, tempDir } from "./helpers.ts";

/** Sorts the items of `[...]` lists and the `  - ` lines inside each group. */
function setOrderFree(text: string): string {
  const lines = text.split("\n").map((l) =>
    l.replace(/\[(.*)\]$/, (_m, items: string) => `[${items.split(", ").sort().join(", ")}]`)
  );
  const out: string[] = [];
  let group: string[] = [];
  for (const l of [...lines, ""]) {
    if (l.startsWith("  - ")) group.push(l);
    else {
      out.push(...group.sort(), l);
      group = [];
    }
  }
  return out.join("\n");
}

/** Our one addition to the reference's upload output: the closing summary line. */
function withoutSummary(text: string): string {
  return text.split("\n").filter((l) => !l.startsWith("INFO: done: ")).join("\n");
}

async function check(version: "head" | "2022", name: string, replace: [string, string][] = []) {
  const golden = await loadGolden(version, name, replace);
  const r = await runTool(golden.args);
  assert.equal(setOrderFree(withoutSummary(r.stdout)), setOrderFree(golden.stdout), r.stderr);
  assert.equal(r.code, golden.exitCode);
}

for (
  const name of [
    "info",
    "info-verbose",
    "info-filter",
    "info-arch-amd64",
    "clean-with-source",
    "clean-bad-age",
  ]
) {
  Deno.test(`golden head/${name}`, () => check("head", name));
}

Deno.test("golden head/upload-again: a second upload finds all 120 files present", async () => {
  await using dir = await tempDir();
  const target = join(dir.path, "upload-remote");
  await copyTree(fixtureCache("head", "remote"), target);
  assert.equal(
    (await runTool(["upload", fixtureCache("head", "local"), `file://${target}`])).code,
    0,
  );
  await check("head", "upload-again", [["/tmp/isar-lab-fixtures/head/cli/upload-remote", target]]);
});

Deno.test("golden 2022/upload-missing-source: a missing source is a warning, exit 0", async () => {
  await using dir = await tempDir();
  await check("2022", "upload-missing-source", [["/tmp/isar-lab-fixtures/2022/cli", dir.path]]);
  await assert.rejects(() => Deno.stat(join(dir.path, "upload-new")), Deno.errors.NotFound);
});

Deno.test("golden 2022/clean-with-source", () => check("2022", "clean-with-source"));

Deno.test("golden 2022 caches: info counts the .tgz era cache like the reference", async () => {
  const r = await runTool(["info", `file://${fixtureCache("2022", "remote")}`]);
  assert.equal(r.code, 0);
  const golden = await loadGolden("2022", "info-verbose");
  assert.equal(r.stdout, golden.stdout.split("\n").slice(0, 2).join("\n") + "\n");
});
