/** The fingerprint set of paths a listing handed out (src/backends/webdav/seen_paths.ts). */
import assert from "node:assert/strict";
import { SeenPaths } from "../src/backends/webdav/seen_paths.ts";

Deno.test("seen paths: what was added is there, and nothing else", () => {
  const seen = new SeenPaths();
  const path = (i: number) =>
    `${(i % 256).toString(16)}/x/sstate:pkg${i}:arm64:1.0:r0:arm64:10:_t.tgz`;
  for (let i = 0; i < 100_000; i += 2) seen.add(path(i));
  seen.add(path(0)); // twice: counted once
  assert.equal(seen.size, 50_000);
  for (let i = 0; i < 100_000; i++) assert.equal(seen.has(path(i)), i % 2 === 0, path(i));
  assert.ok(!seen.has("") && !seen.has("a"));
  seen.add("");
  assert.ok(seen.has(""));
});
