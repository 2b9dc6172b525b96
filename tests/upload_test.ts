import assert from "node:assert/strict";
import { join } from "node:path";
import { copyTree, fixtureCache, listFiles, runTool, tempDir, toolArgv } from "./helpers.ts";

const HASH = "ab12" + "0".repeat(60);
const NAME = `sstate:hello:arm64-isar:2.10:r0:arm64:10:${HASH}_dpkg_build.tar.zst`;

Deno.test("upload: copies a real cache, a second upload uploads nothing", async () => {
  await using dir = await tempDir();
  const target = join(dir.path, "remote");
  const first = await runTool(["upload", fixtureCache("head", "local"), `file://${target}`]);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.match(first.stdout, /^INFO: uploading 120 files \(0\.00 GB\)$/m);
  assert.match(first.stdout, /^INFO: 0 files already present on target$/m);
  assert.match(
    first.stdout,
    /^INFO: done: 120 uploaded .*, 0 present, 0 refreshed, 0 skipped, 0 failed/m,
  );
  assert.deepEqual(await listFiles(target), await listFiles(fixtureCache("head", "local")));
  const sample = (await listFiles(target))[0];
  assert.deepEqual(
    await Deno.readFile(join(target, sample)),
    await Deno.readFile(join(fixtureCache("head", "local"), sample)),
  );

  const again = await runTool(["upload", "-v", fixtureCache("head", "local"), target]);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /^INFO: uploading 0 files \(0\.00 GB\)$/m);
  assert.match(again.stdout, /^INFO: 120 files already present on target$/m);
  assert.equal(again.stdout.match(/^\[EXISTS\] /gm)?.length, 120);
  assert.doesNotMatch(again.stdout, /\[UPLOAD\]/);
});

Deno.test("upload: bitbake temp files, locks and unrelated files are never uploaded", async () => {
  await using dir = await tempDir();
  const src = join(dir.path, "sstate");
  await Deno.mkdir(join(src, "ab/12"), { recursive: true });
  await Deno.writeTextFile(join(src, "ab/12", NAME), "archive");
  await Deno.writeTextFile(join(src, "ab/12", `${NAME}.siginfo`), "siginfo");
  await Deno.writeTextFile(join(src, "ab/12", `${NAME}.Xy7pQ2rT`), "half-written archive");
  await Deno.writeTextFile(join(src, "ab/12", "sigtask.a8f3kd"), "half-written siginfo");
  await Deno.writeTextFile(join(src, "ab/12", `${NAME}.lock`), "");
  await Deno.writeTextFile(join(src, "notes.txt"), "unrelated");
  const target = join(dir.path, "remote");
  const r = await runTool(["upload", src, target]);
  assert.equal(r.code, 0, r.stdout);
  assert.deepEqual(await listFiles(target), [`ab/12/${NAME}`, `ab/12/${NAME}.siginfo`]);
  assert.match(r.stdout, /^INFO: skipping 4 files that are not sstate artifacts$/m);
  assert.match(r.stdout, /done: 2 uploaded .*, 0 present, 0 refreshed, 4 skipped, 0 failed/);
});

Deno.test("upload: siginfo files go before their archives", async () => {
  await using dir = await tempDir();
  const src = join(dir.path, "sstate");
  await copyTree(fixtureCache("head", "local"), src);
  const r = await runTool(["upload", "-v", "-j", "1", src, join(dir.path, "remote")]);
  const order = [...r.stdout.matchAll(/^\[UPLOAD\] (.*)$/gm)].map((m) => m[1]);
  assert.equal(order.length, 120);
  for (const [i, path] of order.entries()) {
    if (path.endsWith(".tar.zst")) {
      const sig = order.indexOf(`${path}.siginfo`);
      if (sig >= 0) assert.ok(sig < i, `${path} before its siginfo`);
    }
  }
});

Deno.test("upload: --filter and --arch select recipes, --dry-run writes nothing", async () => {
  await using dir = await tempDir();
  const target = join(dir.path, "remote");
  const dry = await runTool([
    "upload",
    "--dry-run",
    "--filter",
    "hello",
    fixtureCache("head", "local"),
    target,
  ]);
  assert.equal(dry.code, 0);
  const planned = [...dry.stdout.matchAll(/^\[UPLOAD\] (.*)$/gm)].map((m) => m[1]);
  assert.ok(planned.length > 0);
  assert.ok(planned.every((p) => p.includes("sstate:hello:")), planned.join("\n"));
  assert.match(dry.stdout, /dry run: nothing was uploaded/);
  await assert.rejects(() => Deno.stat(target), Deno.errors.NotFound);

  const r = await runTool(["upload", "--arch", "amd64", fixtureCache("head", "local"), target]);
  assert.equal(r.code, 0);
  const files = await listFiles(target);
  assert.ok(files.length > 0);
  assert.ok(files.every((f) => f.includes(":amd64:")), files.join("\n"));
});

Deno.test("upload: a failing file is reported and counted, the others still upload", async () => {
  await using dir = await tempDir();
  const src = join(dir.path, "sstate");
  await copyTree(fixtureCache("head", "local"), src);
  const target = join(dir.path, "remote");
  // A regular file where the target needs directory "ba" makes every upload below it fail.
  await Deno.mkdir(target);
  await Deno.writeTextFile(join(target, "ba"), "in the way");
  const blocked = (await listFiles(src)).filter((f) => f.startsWith("ba/"));
  assert.ok(blocked.length > 0);
  const r = await runTool(["upload", src, target]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout.match(/^ERROR: upload of ba\/.* failed: /gm)?.length, blocked.length);
  assert.match(
    r.stdout,
    new RegExp(`done: ${120 - blocked.length} uploaded .* ${blocked.length} failed`),
  );
  const landed = (await listFiles(target)).filter((f) => f !== "ba");
  assert.equal(landed.length, 120 - blocked.length);
});

Deno.test("upload: a reader polling the target never sees a partial archive", async () => {
  await using dir = await tempDir();
  const src = join(dir.path, "sstate");
  await Deno.mkdir(join(src, "ab/12"), { recursive: true });
  const size = 64 * 1024 * 1024;
  const data = new Uint8Array(size).map((_, i) => i & 0xff);
  await Deno.writeFile(join(src, "ab/12", NAME), data);
  const target = join(dir.path, "remote");
  const final = join(target, "ab/12", NAME);
  let done = false;
  let partial = 0;
  let polls = 0;
  const poller = (async () => {
    while (!done) {
      polls++;
      try {
        const st = await Deno.stat(final);
        if (st.size !== size) partial++;
      } catch { /* not there yet */ }
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  const r = await runTool(["upload", src, target]);
  done = true;
  await poller;
  assert.equal(r.code, 0, r.stdout);
  assert.ok(polls > 10, `the reader polled during the upload (${polls} times)`);
  assert.equal(partial, 0);
  assert.equal((await Deno.stat(final)).size, size);
  assert.deepEqual(await listFiles(target), [`ab/12/${NAME}`], "no temporary file left behind");
});

Deno.test("upload: a reader that goes away (| head -1) does not stop or break the upload", async () => {
  await using dir = await tempDir();
  const target = join(dir.path, "remote");
  const argv = toolArgv(["upload", "-v", fixtureCache("head", "local"), target]);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  const first = await reader.read();
  assert.match(new TextDecoder().decode(first.value), /^INFO: uploading /);
  await reader.cancel();
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  assert.equal(status.code, 0, stderr);
  assert.doesNotMatch(stderr, /Uncaught|BrokenPipe/);
  assert.equal((await listFiles(target)).length, 120);
});
