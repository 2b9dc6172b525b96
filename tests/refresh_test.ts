/**
 * Retention by last use end to end on file:// and on a real Apache mod_dav (S3: see
 * s3_refresh_test.ts): refreshes of what a build used, clean by last use, the size quota, stamps
 * and newest versions, and a clean racing an upload's refreshes.
 */
import { join } from "node:path";
import { FileBackend } from "../src/backends/file/file.ts";
import { WebDavBackend } from "../src/backends/webdav/webdav.ts";
import assert from "node:assert/strict";
import { copyTree, fixtureCache, listFiles, runTool, tempDir } from "./helpers.ts";
import {
  policyScenario,
  racingCleanScenario,
  refreshScenario,
  type ScenarioTarget,
} from "./retention_scenario.ts";
import { accessLogLines, startApache } from "./servers/apache.ts";

const apache = await startApache();
let counter = 0;

/** A fresh collection on Apache; its requests read from Apache's access log. */
function webdav(): ScenarioTarget {
  const url = `${apache.url}retention-${++counter}/`;
  return {
    url,
    open: () => new WebDavBackend(url),
    async requestsDuring(fn) {
      const before = (await accessLogLines(apache)).length;
      const result = await fn();
      const lines = (await accessLogLines(apache, before)).map((l) =>
        l.split(" ").slice(0, 2).join(" ")
      );
      return [result, lines];
    },
  };
}

/** A fresh directory. */
async function directory(): Promise<ScenarioTarget & AsyncDisposable> {
  const dir = await tempDir();
  const url = `file://${join(dir.path, "cache")}`;
  return {
    url,
    open: () => new FileBackend(url),
    [Symbol.asyncDispose]: () => dir[Symbol.asyncDispose](),
  };
}

Deno.test("file:// retention: upload refreshes what the build used; clean keeps exactly that", async () => {
  await using target = await directory();
  await refreshScenario(target);
});

Deno.test("file:// retention: --keep-newest, --max-size in LRU order, --keep-stamps", async () => {
  await using target = await directory();
  await policyScenario(target);
});

Deno.test("file:// retention: a refresh that finds its file deleted by a clean uploads it", async () => {
  await using target = await directory();
  await racingCleanScenario(target.open);
});

Deno.test("webdav retention: upload refreshes what the build used; clean keeps exactly that", () =>
  refreshScenario(webdav()));

Deno.test("webdav retention: --keep-newest, --max-size in LRU order, --keep-stamps", () =>
  policyScenario(webdav()));

Deno.test("webdav retention: a refresh that finds its file deleted by a clean uploads it", () =>
  racingCleanScenario(webdav().open));

Deno.test("file:// retention: watch refreshes what the wrapped build used when it ends", async () => {
  await using target = await directory();
  await using dir = await tempDir();
  const local = join(dir.path, "local");
  await copyTree(fixtureCache("head", "local"), local);
  const files = (await listFiles(local)).sort();
  const past = new Date(Date.now() - 3_600_000);
  for (const f of files) await Deno.utime(join(local, f), past, past);
  const up = await runTool(["upload", local, target.url]);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  await new Promise((r) => setTimeout(r, 3_000));
  const used = files.filter((_, i) => i % 4 === 0);
  const r = await runTool([
    "watch",
    "--json",
    "--index-file",
    "",
    "--refresh-after",
    "1s",
    local,
    target.url,
    "--",
    "touch",
    ...used.map((f) => join(local, f)),
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  const refreshed = events.filter((e) => e.event === "refreshed").map((e) => e.path).sort();
  assert.deepEqual(refreshed, used);
  assert.equal(events.at(-1).event, "done");
  assert.equal(events.at(-1).refreshed, used.length);
});
