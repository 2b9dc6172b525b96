/**
 * The parts `watch` adds to the upload engine, in-process on real directories: the outage gate,
 * settling, rescans of changed directories only, per-file retries, and a queue that takes an
 * artifact again after it failed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Backend,
  BackendError,
  type PutOptions,
  type PutResult,
  type PutSource,
} from "../src/backends/backend.ts";
import { FileBackend } from "../src/backends/file/file.ts";
import { type Artifact, parseArtifactName } from "../src/cache/artifact.ts";
import { Limiter } from "../src/sync/limiter.ts";
import { RemoteIndex } from "../src/sync/remote_index.ts";
import { UploadQueue } from "../src/sync/upload_queue.ts";
import { gated, OutageGate } from "../src/sync/watch/outage.ts";
import { RetryBook } from "../src/sync/watch/retry_book.ts";
import { Settler } from "../src/sync/watch/settle.ts";
import { LocalCache } from "../src/cache/local_cache.ts";
import { SourceTree } from "../src/sync/watch/source_tree.ts";
import { tempDir } from "./helpers.ts";
import { archivePath, eventually, writeLikeBitbake } from "./watch_helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A file backend whose puts fail while `failure` is set. */
class FlakyBackend extends FileBackend {
  failure?: BackendError;
  puts = 0;
  override put(path: string, source: PutSource, options?: PutOptions): Promise<PutResult> {
    this.puts++;
    if (this.failure) return Promise.reject(this.failure);
    return super.put(path, source, options);
  }
}

function artifactAt(root: string, path: string): Artifact {
  return {
    path,
    size: Deno.statSync(join(root, path)).size,
    mtime: 0,
    ...parseArtifactName(path)!,
  };
}

Deno.test("outage gate: puts wait while the target is down, probe with backoff, then go", async () => {
  await using dir = await tempDir();
  const src = join(dir.path, "src");
  const paths = Array.from({ length: 20 }, (_, n) => writeLikeBitbake(src, n, "g")[0]);
  const target = new FlakyBackend(join(dir.path, "dst"));
  target.failure = new BackendError("connection refused", "transient");
  const events: string[] = [];
  const gate = new OutageGate({
    down: (err) => events.push(`down: ${err.message}`),
    up: () => events.push("up"),
  }, { firstDelayMs: 20, maxDelayMs: 80 });
  const backend: Backend = gated(target, gate);
  const puts = paths.map((p) =>
    backend.put(p, { file: join(src, p), size: artifactAt(src, p).size }, { ifAbsent: true })
  );
  await sleep(400);
  assert.deepEqual(events, ["down: connection refused"], "one report for the outage");
  assert.ok(gate.downSince !== undefined);
  // 20 first attempts, then one probe at a time: after 20, 40, 80, 80, 80... ms.
  assert.ok(target.puts < 20 + 10, `probes only, one at a time (${target.puts} puts)`);
  target.failure = undefined;
  assert.deepEqual(await Promise.all(puts), paths.map(() => "stored"));
  assert.deepEqual(events, ["down: connection refused", "up"]);
  assert.equal(gate.downSince, undefined);
  await backend.close();
});

Deno.test("outage gate: a file's own failure passes through; an abort ends the wait", async () => {
  await using dir = await tempDir();
  const target = new FlakyBackend(join(dir.path, "dst"));
  const gate = new OutageGate({}, { firstDelayMs: 10, maxDelayMs: 10 });
  const backend = gated(target, gate);
  target.failure = new BackendError("no such file", "file");
  const source = { file: join(dir.path, "x"), size: 1 };
  await assert.rejects(backend.put("a/b", source), /no such file/);
  assert.equal(gate.downSince, undefined);
  target.failure = new BackendError("disk full", "target");
  const stop = new AbortController();
  const put = backend.put("a/b", source, { signal: stop.signal });
  await sleep(50);
  stop.abort(new DOMException("stopped", "AbortError"));
  await assert.rejects(put, (err: Error) => err.name === "AbortError");
  await backend.close();
});

Deno.test("queue: an archive refused for its failed siginfo is taken again later", async () => {
  await using dir = await tempDir();
  const src = join(dir.path, "src");
  const [archive, siginfo] = writeLikeBitbake(src, 1, "q").map((p) => artifactAt(src, p));
  const target = new FlakyBackend(join(dir.path, "dst"));
  const failed: string[] = [];
  const queue = new UploadQueue({
    sourceRoot: src,
    target,
    limiter: new Limiter(4),
    index: new RemoteIndex(),
    observer: { failed: (a) => failed.push(a.path) },
  });
  target.failure = new BackendError("busy", "file");
  queue.enqueue(siginfo);
  queue.enqueue(archive);
  await queue.drain();
  assert.deepEqual(failed, [siginfo.path, archive.path]);
  target.failure = undefined;
  queue.enqueue(siginfo); // stored this time...
  await queue.drain();
  queue.enqueue(archive); // ...so its archive may go, even alone
  await queue.drain();
  assert.equal(queue.totals.stored, 2);
  assert.ok(await target.stat(archive.path));
});

Deno.test("settler: a young archive waits for its siginfo; an old one goes at once", async () => {
  await using dir = await tempDir();
  const root = dir.path;
  const ready: string[][] = [];
  const settler = new Settler({
    root,
    settleMs: 50,
    isKnown: () => false,
    ready: (batch) => ready.push(batch.map((a) => a.suffix)),
  });
  const young = archivePath(1, "y");
  await Deno.mkdir(join(root, young, ".."), { recursive: true });
  await Deno.writeTextFile(join(root, young), "archive");
  settler.add([artifactAt(root, young)]);
  await sleep(300);
  assert.deepEqual(ready, [], "waiting for the siginfo");
  await Deno.writeTextFile(join(root, `${young}.siginfo`), "siginfo");
  settler.add([artifactAt(root, `${young}.siginfo`)]); // as its file system event would
  await settler.idle();
  assert.deepEqual(ready, [["tar.zst.siginfo", "tar.zst"]], "both, siginfo first");

  const old = archivePath(2, "y");
  await Deno.mkdir(join(root, old, ".."), { recursive: true });
  await Deno.writeTextFile(join(root, old), "archive");
  const hourAgo = new Date(Date.now() - 3600_000);
  await Deno.utime(join(root, old), hourAgo, hourAgo);
  settler.add([artifactAt(root, old)]);
  await settler.idle();
  assert.deepEqual(ready[1], ["tar.zst"], "unchanged for long: no settling, no siginfo wait");
  settler.close();
});

Deno.test("settler: a file that keeps changing is held until it stops", async () => {
  await using dir = await tempDir();
  const root = dir.path;
  const path = `${archivePath(3, "c")}.siginfo`;
  await Deno.mkdir(join(root, path, ".."), { recursive: true });
  await Deno.writeTextFile(join(root, path), "a");
  const ready: number[] = [];
  const settler = new Settler({
    root,
    settleMs: 1000,
    isKnown: () => false,
    ready: (batch) => ready.push(...batch.map((a) => a.size)),
  });
  settler.add([artifactAt(root, path)]);
  for (let i = 0; i < 5; i++) {
    await sleep(60);
    await Deno.writeTextFile(join(root, path), "a", { append: true });
  }
  assert.deepEqual(ready, [], "still changing");
  await settler.idle();
  assert.deepEqual(ready, [6], "its final size");
});

Deno.test("rescans read only the directories that changed", async () => {
  await using dir = await tempDir();
  for (let n = 0; n < 30; n++) writeLikeBitbake(dir.path, n, "d");
  const hourAgo = new Date(Date.now() - 3600_000);
  const age = (path: string) => {
    for (const e of Deno.readDirSync(path)) {
      if (e.isDirectory) age(join(path, e.name));
    }
    Deno.utimeSync(path, hourAgo, hourAgo);
  };
  age(dir.path);
  const source = new SourceTree(new LocalCache(dir.path));
  const first = [...source.walk({ metadata: false })];
  assert.equal(source.directoryCount, first.length);
  assert.deepEqual([...source.rescan()].map((d) => d.dir), [], "nothing changed: stats only");

  // A new file in a directory: that directory is read, no other.
  const leaf = archivePath(3, "d").split("/").slice(0, 2).join("/");
  const added = `${leaf}/sstate:extra:arm64-isar:1.0:r0:arm64:10:${"e".repeat(64)}_deploy.tar.zst`;
  await Deno.writeTextFile(join(dir.path, added), "x");
  const changed = [...source.rescan()];
  assert.deepEqual(changed.map((d) => d.dir), [leaf]);
  assert.ok(changed[0].files.some((f) => f.path === added), "the new file is found");

  // A new directory: its parent is read (one level), the new one, and the leaf above again
  // (changed too recently to trust its mtime); nothing else.
  const top = leaf.split("/")[0];
  await Deno.mkdir(join(dir.path, top, "zz"));
  const again = [...source.rescan()].map((d) => d.dir).sort();
  assert.deepEqual(again, [leaf, top, `${top}/zz`].sort());
  assert.equal(source.directoryCount, first.length + 1);
});

Deno.test("retry book: backoff doubles per failure; a final flush releases everything", async () => {
  const released: string[] = [];
  const book = new RetryBook(
    (artifacts) => released.push(...artifacts.map((a) => a.path)),
    { firstDelayMs: 30, maxDelayMs: 60_000 },
  );
  const a = { path: "a" } as Artifact;
  const b = { path: "b" } as Artifact;
  const delays = Array.from({ length: 13 }, () => book.failed(a));
  assert.deepEqual(delays.slice(0, 4), [30, 60, 120, 240]);
  assert.equal(delays.at(-1), 60_000, "up to the cap");
  assert.equal(book.failed(b), 30);
  assert.ok(await eventually(() => released.length > 0));
  assert.deepEqual(released, ["b"], "only what is due");
  assert.equal(book.waiting, 1);
  book.releaseAll();
  assert.deepEqual(released, ["b", "a"]);
  assert.equal(book.size, 2, "both still count as failing until stored");
  book.forget("a");
  book.forget("b");
  assert.equal(book.size, 0);
  book.close();
});
