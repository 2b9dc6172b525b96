/**
 * The upload engine shared by upload and watch (src/sync/): limiter, remote index, upload queue,
 * upload run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  BackendError,
  type Entry,
  type ListOptions,
  type PutOptions,
  type PutResult,
  type PutSource,
} from "../src/backends/backend.ts";
import { FileBackend } from "../src/backends/file/file.ts";
import { tempNameFor } from "../src/backends/file/temp_name.ts";
import { type Artifact, parseArtifactName } from "../src/cache/artifact.ts";
import { LocalCache } from "../src/cache/local_cache.ts";
import { Limiter } from "../src/sync/limiter.ts";
import { RemoteIndex } from "../src/sync/remote_index.ts";
import { runUpload } from "../src/sync/upload.ts";
import { UploadQueue } from "../src/sync/upload_queue.ts";
import { listFiles, tempDir } from "./helpers.ts";
import { WrappedBackend } from "./wrapped_backend.ts";

const tick = (ms = 1) => new Promise((r) => setTimeout(r, ms));

/**
 * A real file backend that records when each put starts and ends, can slow puts down and can
 * make chosen paths fail, as a server would.
 */
class RecordingBackend extends WrappedBackend {
  events: string[] = [];
  active = 0;
  maxActive = 0;
  fail = new Map<string, BackendError>();
  delayMs = 0;
  override async put(path: string, source: PutSource, options?: PutOptions): Promise<PutResult> {
    this.events.push(`start ${path}`);
    this.maxActive = Math.max(this.maxActive, ++this.active);
    try {
      if (this.delayMs) {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, this.delayMs);
          options?.signal?.addEventListener("abort", () => {
            clearTimeout(t);
            reject(options.signal!.reason);
          });
        });
      }
      const failure = this.fail.get(path);
      if (failure) throw failure;
      return await this.inner.put(path, source, options);
    } finally {
      this.active--;
      this.events.push(`end ${path}`);
    }
  }
}

let counter = 0;
/** Writes an artifact of `task` and `suffix` (archive, siginfo) under `root`; returns it. */
async function artifact(
  root: string,
  suffix: string,
  n = counter++,
  hash = n.toString(16).padStart(64, "0"),
): Promise<Artifact> {
  const dir = `${hash.slice(0, 2)}/${hash.slice(2, 4)}`;
  const path = `${dir}/sstate:pkg${n}:arm64-isar:1.0:r0:arm64:10:${hash}_dpkg_build.${suffix}`;
  await Deno.mkdir(join(root, dir), { recursive: true });
  const data = new TextEncoder().encode(`${suffix} of ${n}`);
  await Deno.writeFile(join(root, path), data);
  return { path, size: data.length, mtime: 0, ...parseArtifactName(path)! };
}

/**
 * A source with `n` artifacts, each an archive and its siginfo; `spread`: each pair in a
 * directory of its own.
 */
async function pairs(root: string, n: number, spread = false): Promise<Artifact[][]> {
  const out: Artifact[][] = [];
  for (let i = 0; i < n; i++) {
    const id = counter++;
    const hash = spread ? (id % 256).toString(16).padStart(2, "0").repeat(32) : undefined;
    out.push([
      await artifact(root, "tar.zst.siginfo", id, hash),
      await artifact(root, "tar.zst", id, hash),
    ]);
  }
  return out;
}

async function fixture() {
  const dir = await tempDir();
  const src = join(dir.path, "src");
  const target = new RecordingBackend(new FileBackend(join(dir.path, "dst")));
  await target.create();
  return { dir, src, target, dst: join(dir.path, "dst") };
}

Deno.test("limiter: never more than max in flight, all run, in order", async () => {
  const limiter = new Limiter(3);
  let active = 0;
  let peak = 0;
  const started: number[] = [];
  await Promise.all(Array.from({ length: 20 }, (_, i) =>
    limiter.run(async () => {
      started.push(i);
      peak = Math.max(peak, ++active);
      await tick(i % 3);
      active--;
    })));
  assert.equal(peak, 3);
  assert.deepEqual(started, Array.from({ length: 20 }, (_, i) => i));
  assert.equal(limiter.active, 0);
});

Deno.test("limiter: forEach goes on after failures and skips what a stop leaves", async () => {
  const limiter = new Limiter(2);
  const stop = new AbortController();
  const done: number[] = [];
  await limiter.forEach([1, 2, 3, 4, 5, 6], async (n) => {
    await tick();
    if (n === 2) throw new Error("one failure");
    done.push(n);
    if (n === 3) stop.abort();
  }, stop.signal);
  assert.deepEqual(done.sort(), [1, 3, 4], "4 was already running; 5 and 6 never started");
});

Deno.test("remote index: filled by a listing, saved and loaded", async () => {
  await using dir = await tempDir();
  const backend = new FileBackend(join(dir.path, "cache"));
  await Deno.mkdir(join(dir.path, "cache/ab/cd"), { recursive: true });
  await Deno.writeTextFile(join(dir.path, "cache/ab/cd/one"), "1");
  await Deno.writeTextFile(join(dir.path, "cache/two"), "2");
  const index = new RemoteIndex();
  const seen: string[] = [];
  await index.fill(backend, {}, (batch) => seen.push(...batch.map((e) => e.path)));
  assert.deepEqual(seen.sort(), ["ab/cd/one", "two"]);
  index.add("ef/gh/three");
  const file = join(dir.path, "index");
  await index.save(file);
  const loaded = await RemoteIndex.load(file);
  assert.equal(loaded.size, 3);
  assert.ok(loaded.has("ab/cd/one") && loaded.has("ef/gh/three") && !loaded.has("x"));
  assert.equal((await RemoteIndex.load(join(dir.path, "missing"))).size, 0);
});

Deno.test("remote index: binary files, files of one path a line, damaged files", async () => {
  await using dir = await tempDir();
  const hash = "ab".repeat(32);
  const paths = [
    `ab/ab/sstate:a:arm64-isar:1.0:r0:arm64:10:${hash}_fetch.tar.zst`,
    `native/ab/ab/sstate:b:x86_64-linux:1.0:r0:x86_64:10:${hash}_populate_sysroot.tgz.siginfo`,
    "ab/ab/.sstate:x.tar.zst.isar-sstate.host.7.1.tmp",
    "caf\u00e9/\u20ac/odd name",
  ];
  const index = new RemoteIndex();
  for (const path of paths) index.add(path);
  index.add("gone");
  index.delete("gone");
  const file = join(dir.path, "index");
  await index.save(file);
  const loaded = await RemoteIndex.load(file);
  assert.equal(loaded.size, paths.length);
  for (const path of paths) assert.ok(loaded.has(path), path);
  assert.ok(!loaded.has("gone"));
  // Written by earlier versions: one path a line.
  await Deno.writeTextFile(file, paths.join("\n"));
  const old = await RemoteIndex.load(file);
  assert.equal(old.size, paths.length);
  for (const path of paths) assert.ok(old.has(path), path);
  // Cut short, or not what it says.
  await index.save(file);
  const bytes = await Deno.readFile(file);
  await Deno.writeFile(file, bytes.subarray(0, bytes.length - 20));
  await assert.rejects(RemoteIndex.load(file), /truncated/);
  bytes[8] = 0; // no strings, yet entries that name them
  await Deno.writeFile(file, bytes);
  await assert.rejects(RemoteIndex.load(file), /damaged/);
});

Deno.test("remote index: what a saved index lists waits for the listing to confirm it", async () => {
  await using dir = await tempDir();
  const backend = new FileBackend(join(dir.path, "cache"));
  await Deno.mkdir(join(dir.path, "cache/ab/cd"), { recursive: true });
  await Deno.writeTextFile(join(dir.path, "cache/ab/cd/kept"), "1");
  const index = new RemoteIndex();
  for (const path of ["ab/cd/kept", "ab/cd/cleaned", "ab/cd/put"]) index.add(path);
  index.unconfirm();
  assert.ok(!index.has("ab/cd/kept") && index.saved("ab/cd/kept"));
  index.add("ab/cd/put"); // stored by this run meanwhile
  assert.ok(index.has("ab/cd/put") && !index.saved("ab/cd/put"));
  await index.fill(backend);
  assert.ok(index.has("ab/cd/kept") && !index.saved("ab/cd/kept"));
  assert.ok(!index.has("ab/cd/cleaned") && !index.saved("ab/cd/cleaned"), "gone from the target");
  assert.ok(index.has("ab/cd/put"));
  assert.equal(index.size, 2);
});

Deno.test("remote index: last uses from a listing with metadata, by entry and by path", async () => {
  await using dir = await tempDir();
  const backend = new FileBackend(join(dir.path, "cache"));
  const hash = "cd".repeat(32);
  const artifact = `cd/cd/sstate:a:arm64-isar:1.0:r0:arm64:10:${hash}_fetch.tar.zst`;
  const other = "cd/cd/sstate:a:short-hash_fetch.tar.zst"; // kept as it is, not as an entry
  for (const path of [artifact, other, "cd/cd/plain"]) {
    await Deno.mkdir(join(dir.path, "cache", path, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir.path, "cache", path), "x");
    await Deno.utime(join(dir.path, "cache", path), 1000, 1_700_000_000.5);
  }
  const names = new RemoteIndex();
  await names.fill(backend);
  assert.equal(names.lastUse(artifact), undefined, "a listing of names only");
  const index = new RemoteIndex();
  await index.fill(backend, {}, undefined, true);
  assert.equal(index.lastUse(artifact), 1_700_000_000_500);
  assert.equal(index.lastUse(other), 1_700_000_000_500);
  assert.equal(index.lastUse("cd/cd/missing"), undefined);
  index.used(artifact, 1_800_000_000_001);
  index.used(other, 1_800_000_000_002);
  assert.equal(index.lastUse(artifact), 1_800_000_000_001);
  assert.equal(index.lastUse(other), 1_800_000_000_002);
  index.delete(artifact);
  index.delete(other);
  index.add(artifact);
  index.add(other);
  assert.equal(index.lastUse(artifact), undefined, "added again: no last use known");
  assert.equal(index.lastUse(other), undefined);
});

Deno.test("queue: every archive is put only after its own siginfo is stored", async () => {
  const f = await fixture();
  await using _ = f.dir;
  f.target.delayMs = 3;
  const groups = await pairs(f.src, 30);
  const queue = new UploadQueue({
    sourceRoot: f.src,
    target: f.target,
    limiter: new Limiter(8),
    index: new RemoteIndex(),
  });
  // Each archive right behind its siginfo: the queue holds it until the siginfo is stored.
  for (const [sig, archive] of groups) {
    queue.enqueue(sig);
    queue.enqueue(archive);
  }
  const totals = await queue.drain();
  assert.equal(totals.stored, 60);
  assert.ok(f.target.maxActive > 1, "puts ran in parallel");
  for (const [sig, archive] of groups) {
    const sigEnd = f.target.events.indexOf(`end ${sig.path}`);
    const archiveStart = f.target.events.indexOf(`start ${archive.path}`);
    assert.ok(sigEnd >= 0 && sigEnd < archiveStart, `${archive.path} waited for its siginfo`);
  }
  assert.equal((await listFiles(f.dst)).length, 60);
});

Deno.test("queue: an archive whose siginfo failed is not uploaded; others are", async () => {
  const f = await fixture();
  await using _ = f.dir;
  const [[badSig, badArchive], [goodSig, goodArchive]] = await pairs(f.src, 2);
  const lone = await artifact(f.src, "tar.zst");
  f.target.fail.set(badSig.path, new BackendError("injected: disk error on this file", "file"));
  const failures: string[] = [];
  const queue = new UploadQueue({
    sourceRoot: f.src,
    target: f.target,
    limiter: new Limiter(4),
    index: new RemoteIndex(),
    observer: { failed: (a, message) => failures.push(`${a.path}: ${message}`) },
  });
  for (const a of [badSig, badArchive, goodSig, goodArchive, lone]) queue.enqueue(a);
  const totals = await queue.drain();
  assert.deepEqual(totals, {
    stored: 3,
    storedBytes: totals.storedBytes,
    existed: 0,
    failed: 2,
    notStarted: 0,
    unknown: 0,
    refreshed: 0,
  });
  assert.deepEqual(
    (await listFiles(f.dst)).sort(),
    [goodSig.path, goodArchive.path, lone.path].sort(),
  );
  assert.deepEqual(failures, [
    `${badSig.path}: injected: disk error on this file`,
    `${badArchive.path}: not uploaded: its siginfo or signature failed`,
  ]);
  // An archive enqueued later for a group whose siginfo failed is refused too.
  const again = new UploadQueue({
    sourceRoot: f.src,
    target: f.target,
    limiter: new Limiter(4),
    index: new RemoteIndex(),
  });
  again.enqueue(badSig);
  await again.drain();
  again.enqueue(badArchive);
  assert.equal((await again.drain()).failed, 2);
});

Deno.test("queue: an archive refused for its failed siginfo is taken again later", async () => {
  const f = await fixture();
  await using _ = f.dir;
  const [[siginfo, archive]] = await pairs(f.src, 1);
  const failed: string[] = [];
  const queue = new UploadQueue({
    sourceRoot: f.src,
    target: f.target,
    limiter: new Limiter(4),
    index: new RemoteIndex(),
    observer: { failed: (a) => failed.push(a.path) },
  });
  f.target.fail.set(siginfo.path, new BackendError("busy", "file"));
  queue.enqueue(siginfo);
  queue.enqueue(archive);
  await queue.drain();
  assert.deepEqual(failed, [siginfo.path, archive.path]);
  f.target.fail.clear();
  queue.enqueue(siginfo); // stored this time...
  await queue.drain();
  queue.enqueue(archive); // ...so its archive may go, even alone
  await queue.drain();
  assert.equal(queue.totals.stored, 2);
  assert.ok(await f.target.stat(archive.path));
});

Deno.test("queue: stored files join the index; a file stored meanwhile counts as existing", async () => {
  const f = await fixture();
  await using _ = f.dir;
  const [a, b] = [await artifact(f.src, "tar.zst"), await artifact(f.src, "tar.zst")];
  await f.target.put(b.path, { file: join(f.src, b.path), size: b.size });
  const index = new RemoteIndex();
  const existed: string[] = [];
  const queue = new UploadQueue({
    sourceRoot: f.src,
    target: f.target,
    limiter: new Limiter(2),
    index,
    observer: { existed: (x) => existed.push(x.path) },
  });
  queue.enqueue(a);
  queue.enqueue(b);
  const totals = await queue.drain();
  assert.equal(totals.stored, 1);
  assert.equal(totals.existed, 1);
  assert.deepEqual(existed, [b.path]);
  assert.ok(index.has(a.path) && index.has(b.path));
});

Deno.test("queue: a target-wide failure stops the queue with one report", async () => {
  const f = await fixture();
  await using _ = f.dir;
  const items = (await pairs(f.src, 20)).flat();
  for (const a of items) {
    f.target.fail.set(a.path, new BackendError("no space left on device", "target"));
  }
  const reports: string[] = [];
  const perFile: string[] = [];
  const queue = new UploadQueue({
    sourceRoot: f.src,
    target: f.target,
    limiter: new Limiter(2),
    index: new RemoteIndex(),
    observer: {
      targetFailed: (err) => reports.push(err.message),
      failed: (a) => perFile.push(a.path),
    },
  });
  for (const a of items) queue.enqueue(a);
  const totals = await queue.drain();
  assert.deepEqual(reports, ["no space left on device"]);
  assert.deepEqual(perFile, [], "no line per file");
  assert.ok(totals.failed <= 2, "only the puts already running failed");
  assert.equal(totals.failed + totals.notStarted, 40);
  assert.ok(queue.targetError);
});

Deno.test("queue: stop lets puts in flight finish; abort cuts them", async () => {
  for (const mode of ["stop", "abort"] as const) {
    const f = await fixture();
    await using _ = f.dir;
    f.target.delayMs = 200;
    const items = await Promise.all(Array.from({ length: 10 }, () => artifact(f.src, "tar.zst")));
    const stop = new AbortController();
    const abort = new AbortController();
    const queue = new UploadQueue({
      sourceRoot: f.src,
      target: f.target,
      limiter: new Limiter(3),
      index: new RemoteIndex(),
      stop: stop.signal,
      abort: abort.signal,
    });
    for (const a of items) queue.enqueue(a);
    await tick(50);
    (mode === "stop" ? stop : abort).abort();
    const totals = await queue.drain();
    const stored = (await listFiles(f.dst)).length;
    if (mode === "stop") {
      assert.deepEqual([totals.stored, totals.notStarted, stored], [3, 7, 3], mode);
    } else {
      assert.deepEqual([totals.stored, totals.notStarted, stored], [0, 10, 0], mode);
    }
    assert.equal(totals.failed, 0, "interrupted files are not failures");
  }
});

Deno.test("upload run: plans, uploads what is missing, and removes this host's orphans", async () => {
  const f = await fixture();
  await using _ = f.dir;
  const groups = await pairs(f.src, 5);
  await Deno.writeTextFile(join(f.src, "notes.txt"), "not an artifact");
  const [presentSig] = groups[0];
  await f.target.put(presentSig.path, {
    file: join(f.src, presentSig.path),
    size: presentSig.size,
  });
  // What a killed upload of this host left: its process (a pid above the kernel's maximum) is gone.
  const orphan = tempNameFor(groups[1][1].path, Deno.hostname(), 4_194_999, 1);
  const foreign = tempNameFor(groups[1][1].path, "other-host", 4_194_999, 1);
  for (const t of [orphan, foreign]) await Deno.writeTextFile(join(f.dst, t), "partial");
  const events: string[] = [];
  const summary = await runUpload({
    source: new LocalCache(f.src),
    target: f.target,
    targetExists: true,
    limiter: new Limiter(4),
  }, {
    present: (a) => events.push(`present ${a.path}`),
    planned: (p) => events.push(`planned ${p.missing} ${p.present} ${p.otherFiles}`),
    removedOrphans: (n) => events.push(`orphans ${n}`),
  });
  assert.deepEqual(summary.totals.stored, 9);
  assert.deepEqual(summary.plan, {
    missing: 9,
    missingBytes: summary.plan.missingBytes,
    present: 1,
    refresh: 0,
    otherFiles: 1,
  });
  assert.ok(events.includes(`present ${presentSig.path}`));
  assert.ok(events.includes("planned 9 1 1"));
  assert.ok(events.includes("orphans 1"));
  const left = await listFiles(f.dst);
  assert.ok(!left.includes(orphan), "this host's orphan is gone");
  assert.ok(left.includes(foreign), "another host's temporary file stays (clean ages it out)");
  assert.equal(left.length, 11);
});

Deno.test("upload run: a dry run plans and changes nothing", async () => {
  const f = await fixture();
  await using _ = f.dir;
  await pairs(f.src, 3);
  const would: string[] = [];
  const summary = await runUpload({
    source: new LocalCache(f.src),
    target: f.target,
    targetExists: true,
    limiter: new Limiter(4),
    dryRun: true,
  }, { wouldUpload: (a) => would.push(a.path) });
  assert.equal(would.length, 6);
  assert.equal(summary.plan.missing, 6);
  assert.equal(summary.totals.stored, 0);
  assert.deepEqual(await listFiles(f.dst), []);
});

/** A target whose listing waits until `release` is called. */
class SlowListing extends WrappedBackend {
  #gate = Promise.withResolvers<void>();
  release = () => this.#gate.resolve();
  override async *list(options?: ListOptions): AsyncIterable<Entry[]> {
    await this.#gate.promise;
    yield* this.inner.list(options);
  }
}

Deno.test("upload run: beyond the held bound, directories walked during the listing are read again", async () => {
  const f = await fixture();
  await using _ = f.dir;
  const groups = await pairs(f.src, 12, true); // 12 directories of 2 artifacts
  const present = groups.slice(0, 5).flat();
  for (const a of present) await f.target.put(a.path, { file: join(f.src, a.path), size: a.size });
  const target = new SlowListing(f.target);
  const source = new LocalCache(f.src);
  const walked: string[] = [];
  const walk = source.walk.bind(source);
  source.walk = (options) => {
    const it = walk(options);
    return (function* () {
      for (const read of it) {
        walked.push(read.dir);
        if (walked.length === 40) target.release(); // the whole source walked by now
        yield read;
      }
      target.release();
    })();
  };
  const summary = await runUpload({
    source,
    target,
    targetExists: true,
    limiter: new Limiter(4),
    heldMax: 3,
  });
  assert.deepEqual(summary.plan, {
    missing: 14,
    missingBytes: summary.plan.missingBytes,
    present: 10,
    refresh: 0,
    otherFiles: 0,
  });
  assert.equal(summary.totals.stored, 14);
  assert.equal(summary.totals.failed, 0);
  assert.deepEqual((await listFiles(f.dst)).sort(), groups.flat().map((a) => a.path).sort());
  const reread = walked.filter((dir, i) => walked.indexOf(dir) !== i);
  assert.ok(reread.length >= 10, `directories read again: ${reread.length}`);
});
