/** Watch's per-file retries (src/sync/watch/retry_book.ts), its timer on a manual clock. */
import assert from "node:assert/strict";
import type { Artifact } from "../src/cache/artifact.ts";
import { RetryBook } from "../src/sync/watch/retry_book.ts";
import { ManualClock } from "./manual_clock.ts";

Deno.test("retry book: backoff doubles per failure; a final flush releases everything", async () => {
  const clock = new ManualClock();
  const released: string[] = [];
  const book = new RetryBook(
    (artifacts) => released.push(...artifacts.map((a) => a.path)),
    { firstDelayMs: 30, maxDelayMs: 60_000 },
    clock,
  );
  const a = { path: "a" } as Artifact;
  const b = { path: "b" } as Artifact;
  const delays = Array.from({ length: 13 }, () => book.failed(a));
  assert.deepEqual(delays.slice(0, 4), [30, 60, 120, 240]);
  assert.equal(delays.at(-1), 60_000, "up to the cap");
  assert.equal(book.failed(b), 30);
  await clock.advance(29);
  assert.deepEqual(released, [], "nothing is due yet");
  await clock.advance(1);
  assert.deepEqual(released, ["b"], "only what is due");
  assert.equal(book.waiting, 1);
  book.releaseAll();
  assert.deepEqual(released, ["b", "a"]);
  assert.equal(book.size, 2, "both still count as failing until stored");
  book.forget("a");
  book.forget("b");
  assert.equal(book.size, 0);
  book.close();
  assert.equal(clock.pending, 0, "no timer left");
});
