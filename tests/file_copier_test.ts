import assert from "node:assert/strict";
import { join } from "node:path";
import { Copier, CopyError } from "../src/backends/file/copier.ts";
import { nativePlace } from "../src/backends/file/native_place.ts";
import {
  JOB_CANCELLED,
  JOB_COMMITTED,
  JOB_PENDING,
  type PlaceJob,
  sharedCancelCheck,
} from "../src/backends/file/place_job.ts";
import { listFiles, tempDir } from "./helpers.ts";

/** A create-only job for `source` (its current size) to `target`, via `target.tmp`. */
function job(source: string, target: string, exclusive = true): PlaceJob {
  let size = 0;
  try {
    size = Deno.statSync(source).size;
  } catch { /* a missing source: the copy reports it */ }
  return { source, temp: `${target}.tmp`, target, size, exclusive };
}

async function sources(dir: string, count: number): Promise<string[]> {
  await Deno.mkdir(join(dir, "src"));
  const names = Array.from({ length: count }, (_, i) => `f${i}`);
  await Promise.all(names.map((n, i) => Deno.writeTextFile(join(dir, "src", n), `content ${i}`)));
  return names;
}

async function copyAll(copier: Copier, dir: string, names: string[]): Promise<void> {
  await Promise.all(names.map((n, i) => {
    const target = join(dir, "dst", `d${i % 7}`, n);
    return copier.copy(job(join(dir, "src", n), target));
  }));
}

async function assertCopied(dir: string, names: string[]): Promise<void> {
  const copied = await listFiles(join(dir, "dst"));
  assert.equal(copied.length, names.length, "every file, no temporary left");
  for (const [i, n] of names.entries()) {
    assert.equal(await Deno.readTextFile(join(dir, "dst", `d${i % 7}`, n)), `content ${i}`);
  }
}

Deno.test("copier: copies through worker threads into new directories", async () => {
  await using dir = await tempDir();
  const names = await sources(dir.path, 300);
  const copier = new Copier(2);
  try {
    await copyAll(copier, dir.path, names);
    assert.equal(copier.usesWorkers, true);
  } finally {
    copier.close();
  }
  await assertCopied(dir.path, names);
});

Deno.test("copier: a worker that cannot start falls back to copying in-process", async () => {
  await using dir = await tempDir();
  const names = await sources(dir.path, 50);
  const broken = new URL("data:application/javascript,throw new Error('cannot start')");
  const copier = new Copier(2, broken);
  try {
    await copyAll(copier, dir.path, names);
    assert.equal(copier.usesWorkers, false);
  } finally {
    copier.close();
  }
  await assertCopied(dir.path, names);
});

Deno.test("copier: a missing source fails alone, with its errno code and no temp file", async () => {
  await using dir = await tempDir();
  await sources(dir.path, 20);
  for (const [threads, native] of [[2, true], [0, true], [2, false], [0, false]] as const) {
    const copier = new Copier(threads, undefined, native);
    const out = join(dir.path, `out${threads}${native}`);
    try {
      await Deno.mkdir(out);
      await assert.rejects(
        () => copier.copy(job(join(dir.path, "src", "missing"), join(out, "x"))),
        (err: CopyError) => err instanceof CopyError && err.code === "ENOENT",
      );
      assert.deepEqual(await listFiles(out), []);
    } finally {
      copier.close();
    }
  }
});

Deno.test("copier: recreates a directory a concurrent clean pruned", async () => {
  await using dir = await tempDir();
  await sources(dir.path, 2);
  for (const [threads, native] of [[1, true], [0, true], [1, false], [0, false]] as const) {
    const copier = new Copier(threads, undefined, native);
    const out = join(dir.path, `out${threads}`, "ab");
    try {
      await copier.copy(job(join(dir.path, "src", "f0"), join(out, "f0")));
      await Deno.remove(join(dir.path, `out${threads}`), { recursive: true });
      await copier.copy(job(join(dir.path, "src", "f1"), join(out, "f1")));
      assert.equal(await Deno.readTextFile(join(out, "f1")), "content 1");
    } finally {
      copier.close();
    }
  }
});

Deno.test("native placing: used where the system has it, create-only, nothing named meanwhile", async () => {
  await using dir = await tempDir();
  await sources(dir.path, 1);
  const source = join(dir.path, "src", "f0");
  const target = join(dir.path, "out", "ab", "f0");
  const made = new Set<string>();
  const never = { cancelled: () => false, cancelledOrCommit: () => false };
  const always = { cancelled: () => true, cancelledOrCommit: () => true };
  assert.equal(nativePlace(job(source, target), made, never), "stored");
  assert.equal(await Deno.readTextFile(target), "content 0");
  assert.equal(nativePlace(job(source, target), made, never), "exists");
  assert.equal(
    nativePlace(job(source, join(dir.path, "out", "ab", "f1")), made, always),
    "cancelled",
  );
  assert.deepEqual(await listFiles(join(dir.path, "out")), ["ab/f0"], "no temporary name, ever");
  assert.throws(
    () => nativePlace({ ...job(source, join(dir.path, "out", "g")), size: 99 }, made, never),
    /size changed: expected 99 bytes, copied 9/,
  );
  assert.deepEqual(await listFiles(join(dir.path, "out")), ["ab/f0"]);
  assert.equal(nativePlace(job(source, target, false), made, never), "unsupported", "replacing");
});

Deno.test("copier: a job is either cancelled or committed, never both", () => {
  const states = new Int32Array(new SharedArrayBuffer(8));
  const cancel = (i: number) =>
    Atomics.compareExchange(states, i, JOB_PENDING, JOB_CANCELLED) !== JOB_COMMITTED;
  // Cancelled first: the worker sees it before the move and gives the job up.
  const first = sharedCancelCheck(states, 0);
  assert.equal(first.cancelled(), false);
  assert.ok(cancel(0), "a pending job can be cancelled");
  assert.equal(first.cancelled(), true);
  assert.equal(first.cancelledOrCommit(), true, "not committed after a cancel");
  // Committed first: a later cancel cannot stop it, so the caller waits for the outcome.
  const second = sharedCancelCheck(states, 1);
  assert.equal(second.cancelledOrCommit(), false);
  assert.equal(cancel(1), false, "a committed job cannot be cancelled");
  assert.equal(second.cancelled(), false);
});
