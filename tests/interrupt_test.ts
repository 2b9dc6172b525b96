/**
 * Ctrl-C and SIGTERM: the first signal stops new work and lets the work in progress finish, the
 * second cuts it; either way the summary is printed and only complete files stay behind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fixtureCache, listFiles, tempDir, toolArgv } from "./helpers.ts";

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

/** The tool as a child process whose stdout is read as it comes. */
function spawnTool(args: string[]) {
  const argv = toolArgv(args);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdout = "";
  let stderr = "";
  const reading = [
    child.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (chunk) => void (stdout += chunk) }),
    ),
    child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (chunk) => void (stderr += chunk) }),
    ),
  ];
  /** Waits until `text()` matches `re` (or 20 s pass). */
  const waitFor = async (text: () => string, re: RegExp) => {
    for (let i = 0; i < 4000 && !re.test(text()); i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.match(text(), re);
  };
  return {
    child,
    get stdout() {
      return stdout;
    },
    /** Waits until stdout matches `re`. */
    until: (re: RegExp) => waitFor(() => stdout, re),
    /** Waits until stderr matches `re`. */
    untilError: (re: RegExp) => waitFor(() => stderr, re),
    async finish() {
      const status = await child.status;
      await Promise.all(reading);
      return { code: status.code, stdout, stderr };
    },
  };
}

/** Every file left on the target is a complete archive; no temporary file. */
async function assertOnlyComplete(target: string, size: number): Promise<string[]> {
  const left = await listFiles(target);
  for (const f of left) {
    assert.ok(f.endsWith(".tar.zst"), `unexpected file ${f}`);
    assert.equal((await Deno.stat(join(target, f))).size, size, `${f} is complete`);
  }
  return left;
}

Deno.test("upload: Ctrl-C finishes the files in progress, then prints the summary", async () => {
  await using dir = await tempDir();
  const src = join(dir.path, "sstate");
  const size = 24 * 1024 * 1024;
  await largeCache(src, 40, size);
  const target = join(dir.path, "remote");
  const run = spawnTool(["upload", "-v", "-j", "4", src, target]);
  await run.until(/^\[UPLOAD\] /m);
  run.child.kill("SIGINT");
  const { code, stdout, stderr } = await run.finish();
  assert.equal(code, 130);
  assert.match(stdout, /^INFO: uploading 40 files /m, "the plan was shown");
  assert.match(stderr, /^interrupted: finishing the work in progress/m);
  assert.doesNotMatch(stdout, /^ERROR: /m, "files not started are not failures");
  const done = /^INFO: done: (\d+) uploaded .* 0 failed in /m.exec(stdout);
  assert.ok(done, `a summary line: ${stdout}`);
  const left = await assertOnlyComplete(target, size);
  assert.equal(left.length, Number(done[1]), "the summary counts what landed");
  assert.ok(left.length < 40, "interrupted before the end");
  const started = stdout.match(/^\[UPLOAD\] /gm)!.length;
  assert.equal(left.length, started, "every file that was started was finished");
  assert.match(stdout, new RegExp(`^WARNING: ${40 - left.length} files were not uploaded`, "m"));
});

Deno.test("upload: a second Ctrl-C stops at once and leaves no temporary file", async () => {
  await using dir = await tempDir();
  const src = join(dir.path, "sstate");
  const size = 256 * 1024 * 1024;
  await largeCache(src, 6, size);
  const target = join(dir.path, "remote");
  const run = spawnTool(["upload", "-v", "-j", "4", src, target]);
  await run.until(/^\[UPLOAD\] /m);
  run.child.kill("SIGTERM");
  // The second signal once the first was handled (two at once may arrive as one).
  await run.untilError(/^interrupted: finishing/m);
  run.child.kill("SIGTERM");
  const { code, stderr } = await run.finish();
  assert.equal(code, 143);
  assert.match(stderr, /interrupted again: stopping now/);
  // Copies already handed to a worker thread may still be finishing when the process ends; what
  // is left must be complete files only.
  await assertOnlyComplete(target, size);
});

Deno.test("clean: Ctrl-C stops deleting and reports what was deleted", async () => {
  await using dir = await tempDir();
  const target = join(dir.path, "remote");
  const names = await largeCache(target, 3000, 1);
  const old = new Date(Date.now() - 10 * 86400_000);
  for (const n of names) await Deno.utime(join(target, n), old, old);
  const run = spawnTool(["clean", "-v", "-j", "1", "--max-age", "1d", target]);
  await run.until(/^\[DELETE\] /m);
  run.child.kill("SIGINT");
  const { code, stdout } = await run.finish();
  assert.equal(code, 130);
  const done = /^INFO: done: (\d+) deleted, 0 failed, freed 0\.00 GB in /m.exec(stdout);
  assert.ok(done, stdout.slice(-500));
  const deleted = Number(done[1]);
  assert.ok(deleted > 0 && deleted < 3000, `stopped part way (${deleted})`);
  assert.equal((await listFiles(target)).length, 3000 - deleted, "the summary is the truth");
  assert.match(stdout, new RegExp(`^WARNING: ${3000 - deleted} files were not deleted`, "m"));
});

/**
 * `copies` copies of every siginfo file below `from`, each under a new hash (in its own
 * `HH/hh` directory), in `to`. Returns how many files were written.
 */
async function replicateSignatures(from: string, to: string, copies: number): Promise<number> {
  const sigs: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) await walk(join(dir, e.name));
      else if (e.name.endsWith(".siginfo")) sigs.push(join(dir, e.name));
    }
  };
  await walk(from);
  let written = 0;
  for (let c = 0; c < copies; c++) {
    for (const [i, sig] of sigs.entries()) {
      const hash = (c * sigs.length + i).toString(16).padStart(8, "0") + "e".repeat(56);
      const name = sig.split("/").pop()!.replace(/:[0-9a-f]{64}_/, `:${hash}_`);
      const dir = join(to, hash.slice(0, 2), hash.slice(2, 4));
      await Deno.mkdir(dir, { recursive: true });
      await Deno.copyFile(sig, join(dir, name));
      written++;
    }
  }
  return written;
}

/** Commands that read signatures: what they read, how they start printing, and what they say. */
const SIGNATURE_READERS = [
  {
    name: "lint",
    copyOf: "remote",
    args: (cache: string) => ["lint", "-v", "-j", "1", cache],
    printing: /^==== /m,
    left: /^WARNING: (\d+) signatures were not linted: the run was stopped$/m,
  },
  {
    name: "analyze",
    copyOf: "local",
    args: (cache: string) => ["analyze", "-j", "1", cache, fixtureCache("head", "remote")],
    printing: /\S/,
    left: /^WARNING: (\d+) items were not analyzed: the run was stopped$/m,
  },
];
for (const reader of SIGNATURE_READERS) {
  Deno.test(`${reader.name}: Ctrl-C stops part way, keeps what was printed, says what was left`, async () => {
    await using dir = await tempDir();
    const cache = join(dir.path, "sstate");
    const total = await replicateSignatures(fixtureCache("head", reader.copyOf), cache, 40);
    const run = spawnTool(reader.args(cache));
    await run.until(reader.printing);
    run.child.kill("SIGINT");
    const { code, stdout, stderr } = await run.finish();
    assert.equal(code, 130, stderr);
    assert.match(stderr, /^interrupted: finishing the work in progress/m);
    const left = reader.left.exec(stdout);
    assert.ok(left, stdout.slice(-500));
    assert.ok(Number(left[1]) > 0 && Number(left[1]) < total, `stopped part way (${left[1]})`);
  });
}
