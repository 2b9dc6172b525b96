/**
 * Watch's outage gate (src/sync/watch/outage.ts) on a real file backend, its timers on a manual
 * clock: puts wait while the target is down, one probe at a time with backoff, and go once it
 * answers; a file's own failure passes through; an abort ends the wait.
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
import { gated, OutageGate } from "../src/sync/watch/outage.ts";
import { tempDir } from "./helpers.ts";
import { ManualClock } from "./manual_clock.ts";
import { writeLikeBitbake } from "./watch_helpers.ts";

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

Deno.test("outage gate: puts wait while the target is down, probe with backoff, then go", async () => {
  await using dir = await tempDir();
  const src = join(dir.path, "src");
  const paths = Array.from({ length: 20 }, (_, n) => writeLikeBitbake(src, n, "g")[0]);
  const target = new FlakyBackend(join(dir.path, "dst"));
  target.failure = new BackendError("connection refused", "transient");
  const events: string[] = [];
  const clock = new ManualClock();
  const gate = new OutageGate(
    {
      down: (err) => events.push(`down: ${err.message}`),
      stillDown: (_err, ms) => events.push(`still down after ${ms} ms`),
      up: () => events.push("up"),
    },
    { firstDelayMs: 20, maxDelayMs: 80 },
    clock,
  );
  const backend: Backend = gated(target, gate);
  const size = (p: string) => Deno.statSync(join(src, p)).size;
  const puts = paths.map((p) =>
    backend.put(p, { file: join(src, p), size: size(p) }, { ifAbsent: true })
  );
  await clock.advance(400);
  // 20 first attempts, then one probe at a time: after 20, 40, 80, 80, 80 ms.
  assert.deepEqual(events, [
    "down: connection refused",
    "still down after 20 ms",
    "still down after 60 ms",
    "still down after 140 ms",
    "still down after 220 ms",
    "still down after 300 ms",
    "still down after 380 ms",
  ]);
  assert.equal(target.puts, 20 + 6, "probes only, one at a time");
  assert.ok(gate.downSince !== undefined);
  target.failure = undefined;
  await clock.advance(80); // the next probe succeeds, and the others follow
  assert.deepEqual(await Promise.all(puts), paths.map(() => "stored"));
  assert.equal(events.at(-1), "up");
  assert.equal(gate.downSince, undefined);
  await backend.close();
});

Deno.test("outage gate: a file's own failure passes through; an abort ends the wait", async () => {
  await using dir = await tempDir();
  const target = new FlakyBackend(join(dir.path, "dst"));
  const clock = new ManualClock();
  const gate = new OutageGate({}, { firstDelayMs: 10, maxDelayMs: 10 }, clock);
  const backend = gated(target, gate);
  target.failure = new BackendError("no such file", "file");
  const source = { file: join(dir.path, "x"), size: 1 };
  await assert.rejects(backend.put("a/b", source), /no such file/);
  assert.equal(gate.downSince, undefined);
  target.failure = new BackendError("disk full", "target");
  const stop = new AbortController();
  const put = backend.put("a/b", source, { signal: stop.signal });
  await clock.advance(35); // failed, and probed again three times
  assert.equal(target.puts, 1 + 4);
  assert.ok(gate.downSince !== undefined);
  stop.abort(new DOMException("stopped", "AbortError"));
  await assert.rejects(put, (err: Error) => err.name === "AbortError");
  await backend.close();
});
