/**
 * `upload` to a WebDAV server that stops answering in the middle (a proxy in front of a real
 * Apache holds every request after the first few): the stall is warned about while it lasts,
 * and the run ends within the stall bound with one line, not one per file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { spawnTool, tempDir } from "./helpers.ts";
import { startApache } from "./servers/apache.ts";
import { startFaultProxy } from "./servers/request_fault_proxy.ts";

Deno.test("webdav stall: a server that stops answering is warned about and ends the upload in one line", async () => {
  await using apache = await startApache();
  let release = () => {};
  const held = new Promise<void>((resolve) => release = resolve);
  let puts = 0;
  await using proxy = startFaultProxy({
    targetPort: apache.port,
    beforeForward: (head) => head.method === "PUT" && ++puts > 5 ? held : Promise.resolve(),
  });
  await using dir = await tempDir();
  try {
    const src = join(dir.path, "sstate");
    const hash = "ab" + "0".repeat(62);
    await Deno.mkdir(join(src, "ab/00"), { recursive: true });
    for (let i = 0; i < 40; i++) {
      const name = `sstate:pkg${i}:arm64-isar:1.0:r0:arm64:10:${hash}_dpkg_build.tar.zst`;
      await Deno.writeFile(join(src, "ab/00", name), new Uint8Array(1000).fill(i));
    }
    const url = `${apache.url.replace(`:${apache.port}/`, `:${proxy.port}/`)}stall/`;
    // The stall timeout, tuned down from 60 s so that the test need not wait minutes.
    const run = spawnTool(["upload", "-j", "2", src, url], { ISAR_SSTATE_STALL_TIMEOUT: "1" });
    const { code, stdout, stderr } = await run.finish();
    const all = stdout + stderr;
    assert.equal(code, 1, all);
    const where = url.replace(/\/$/, "").replace(/[.]/g, "\\.");
    assert.match(
      all,
      new RegExp(`^WARNING: ${where}/?: no progress for 1 s; trying again$`, "m"),
      "the stall is told while it lasts",
    );
    const errors = all.split("\n").filter((l) => l.startsWith("ERROR:"));
    assert.equal(errors.length, 1, all);
    assert.match(errors[0], /: no progress for 1 s from http:\/\/127\.0\.0\.1:\d+ \(5 attempts\);/);
    assert.match(errors[0], /; stopping the upload$/);
    assert.match(stdout, /^INFO: done: 5 uploaded .* failed in /m);
  } finally {
    release();
  }
});
