/** Ctrl-C during an upload: the process stops, and the target holds only complete files. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { listFiles, MAIN, tempDir } from "./helpers.ts";

const HASH = "cd34" + "0".repeat(60);

async function largeCache(dir: string, count: number, size: number): Promise<string[]> {
  const names: string[] = [];
  const data = new Uint8Array(size).map((_, i) => (i * 7) & 0xff);
  for (let i = 0; i < count; i++) {
    const hash = `${i.toString(16).padStart(4, "0")}${HASH.slice(4)}`;
    const rel = `${hash.slice(0, 2)}/${hash.slice(2, 4)}`;
    const name = `${rel}/sstate:pkg${i}:arm64-isar:1.0:r0:arm64:10:${hash}_dpkg_build.tar.zst`;
    await Deno.mkdir(join(dir, rel), { recursive: true });
    await Deno.writeFile(join(dir, name), data);
    names.push(name);
  }
  return names;
}

Deno.test("upload: Ctrl-C stops the upload and leaves no temporary or partial file", async () => {
  await using dir = await tempDir();
  const src = join(dir.path, "sstate");
  const size = 24 * 1024 * 1024;
  await largeCache(src, 40, size);
  const target = join(dir.path, "remote");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, "upload", "-j", "4", src, target],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Interrupt once the first archives have landed, while others are being copied.
  for (let i = 0; i < 2000; i++) {
    const landed = await listFiles(target).catch(() => []);
    if (landed.some((f) => f.endsWith(".tar.zst"))) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill("SIGINT");
  const { code, stdout, stderr } = await child.output();
  assert.equal(code, 130);
  assert.match(
    new TextDecoder().decode(stdout),
    /^INFO: uploading 40 files /m,
    "the plan was shown",
  );
  assert.match(new TextDecoder().decode(stderr), /^interrupted: finishing the files in progress/m);
  const printed = new TextDecoder().decode(stdout);
  assert.doesNotMatch(printed, /^ERROR: /m, "files not started are not failures");
  const left = await listFiles(target);
  assert.ok(left.length < 40, "interrupted before the end");
  for (const f of left) {
    assert.ok(f.endsWith(".tar.zst"), `unexpected file ${f}`);
    assert.equal((await Deno.stat(join(target, f))).size, size, `${f} is complete`);
  }
});
