/**
 * Retention by last use end to end on file:// and on a real Apache mod_dav (S3: see
 * s3_refresh_test.ts): refreshes of what a build used, clean by last use, the size quota, stamps
 * and newest versions, and a clean racing an upload's refreshes.
 */
import { join } from "node:path";
import { FileBackend } from "../src/backends/file/file.ts";
import { WebDavBackend } from "../src/backends/webdav/webdav.ts";
import { tempDir } from "./helpers.ts";
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
