/**
 * Every `--json` output against the shapes docs/json.md documents (its JSON Schemas, read from
 * the document): info, analyze, lint, diff, watch events and errors, each with `"version": 1`;
 * and stdout carries nothing but JSON, also when `watch` wraps a command that prints.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { SIGINFO_DATA } from "./data/siginfo/golden.ts";
import { copyTree, fixtureCache, listFiles, runTool, tempDir } from "./helpers.ts";
import { assertDocumented, documentedSchemas, validate } from "./json_schema.ts";
import { jsonEvents, spawnTool } from "./watch_helpers.ts";

/** Parses stdout as one JSON document; nothing else may be on it. */
function onlyJson(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout);
}

Deno.test("json docs: the validator reads every schema and refuses what does not fit", () => {
  const schemas = documentedSchemas();
  assert.deepEqual([...schemas.keys()].sort(), [
    "analyze",
    "changes",
    "diff",
    "error",
    "info",
    "info-missing",
    "lint",
    "watch-event",
  ]);
  const error = { version: 1, error: "x", exit: 1 };
  assert.deepEqual(validate(schemas, "error", error), []);
  assert.notDeepEqual(validate(schemas, "error", { error: "x", exit: 1 }), []);
  assert.notDeepEqual(validate(schemas, "error", { ...error, version: 2 }), []);
  assert.notDeepEqual(validate(schemas, "error", { ...error, extra: true }), []);
  const event = { version: 1, time: "2024-01-02T03:04:05.678Z", event: "uploaded" };
  assert.deepEqual(validate(schemas, "watch-event", { ...event, path: "a", size: 1 }), []);
  assert.notDeepEqual(validate(schemas, "watch-event", { ...event, path: "a" }), []);
  assert.notDeepEqual(validate(schemas, "watch-event", { ...event, event: "nope" }), []);
});

Deno.test("json docs: info, and info on a missing target", async () => {
  const r = await runTool(["info", "--json", fixtureCache("head", "remote")]);
  assert.equal(r.code, 0, r.stderr);
  const info = onlyJson(r.stdout);
  assert.equal(info.version, 1);
  assertDocumented("info", info);
  await using dir = await tempDir();
  const missing = await runTool(["info", "--json", join(dir.path, "nope")]);
  assertDocumented("info-missing", onlyJson(missing.stdout));
});

Deno.test("json docs: errors, of the command line and of a run", async () => {
  await using dir = await tempDir();
  const runs = [
    await runTool(["info", "--json", "--bogus", dir.path]),
    await runTool(["lint", "--json", join(dir.path, "nope")]),
    await runTool(["analyze", "--json", join(dir.path, "nope"), dir.path]),
    await runTool(["diff", "--json", "--recipe", "hello", "--task", "x", dir.path]),
  ];
  assert.deepEqual(runs.map((r) => r.code), [2, 1, 1, 1]);
  for (const r of runs) {
    const doc = onlyJson(r.stdout);
    assert.equal(doc.version, 1);
    assertDocumented("error", doc);
  }
});

Deno.test("json docs: lint", async () => {
  const r = await runTool([
    "lint",
    "--json",
    "--sources-dir",
    "/tmp/isar-lab/head/dev/work/",
    "--build-dir",
    "/tmp/isar-lab/head/dev/build/tmp/",
    fixtureCache("head", "local"),
  ]);
  assert.equal(r.code, 4, r.stderr);
  const lint = onlyJson(r.stdout);
  assertDocumented("lint", lint);
  assert.ok((lint.issues as unknown[]).length > 0);
});

Deno.test("json docs: analyze, on both signature formats", async () => {
  for (const version of ["head", "2022"] as const) {
    const r = await runTool([
      "analyze",
      "--json",
      fixtureCache(version, "local"),
      fixtureCache(version, "remote"),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const analyze = onlyJson(r.stdout);
    assertDocumented("analyze", analyze);
    assert.deepEqual(analyze.tasks, ["dpkg_build", "rootfs_install", "bootstrap"]);
  }
});

Deno.test("json docs: diff of two files and of a recipe's task in a cache", async () => {
  const pair = `${SIGINFO_DATA}head/image-deps-changed`;
  const files = await runTool(["diff", "--json", `${pair}/a.siginfo`, `${pair}/b.siginfo`]);
  assert.equal(files.code, 0, files.stderr);
  assertDocumented("diff", onlyJson(files.stdout));
  const recipe = await runTool([
    "diff",
    "--json",
    "--recipe",
    "hello",
    "--task",
    "dpkg_build",
    fixtureCache("head", "remote"),
  ]);
  assert.equal(recipe.code, 0, recipe.stderr);
  assertDocumented("diff", onlyJson(recipe.stdout));
});

Deno.test("json docs: watch --json wrapping a command that prints: stdout is JSON events only", async () => {
  await using dir = await tempDir();
  const src = join(dir.path, "sstate");
  await copyTree(fixtureCache("head", "local"), src);
  const build = "echo 'NOTE: Executing Tasks'; echo 'a build warning' >&2; echo 'NOTE: done'";
  const run = spawnTool([
    "watch",
    "--json",
    "--index-file",
    "",
    src,
    join(dir.path, "target"),
    "--",
    "sh",
    "-c",
    build,
  ]);
  const { code, stdout, stderr } = await run.finish();
  assert.equal(code, 0, stderr);
  const lines = stdout.split("\n").filter((l) => l !== "");
  const events = lines.map((l) => JSON.parse(l));
  for (const event of events) assertDocumented("watch-event", event);
  assert.deepEqual(
    events.map((e) => e.event).filter((e) => ["started", "exited", "done"].includes(e)),
    ["started", "exited", "done"],
  );
  assert.match(stderr, /^NOTE: Executing Tasks\nNOTE: done$/m, "the command's stdout, on stderr");
  assert.match(stderr, /^a build warning$/m);
  assert.equal(
    events.filter((e) => e.event === "uploaded").length,
    (await listFiles(src)).length,
  );
  assert.deepEqual(jsonEvents(stdout), events);
});
