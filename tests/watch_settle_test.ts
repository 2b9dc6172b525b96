/**
 * Watch's settling (src/sync/watch/settle.ts) on real files, its timers on a manual clock (file
 * times are set to the clock's): a young archive waits for its siginfo, an old one goes at once,
 * a file that keeps changing is held until it stops.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Artifact, parseArtifactName } from "../src/cache/artifact.ts";
import { Settler, SIGINFO_WAIT_MS } from "../src/sync/watch/settle.ts";
import { tempDir } from "./helpers.ts";
import { ManualClock } from "./manual_clock.ts";
import { archivePath } from "./watch_helpers.ts";

function artifactAt(root: string, path: string): Artifact {
  const size = Deno.statSync(join(root, path)).size;
  return { path, size, mtime: 0, ...parseArtifactName(path)! };
}

/** Writes `text` to `root/path` (appending if asked) with the modification time `at`. */
function write(root: string, path: string, text: string, at: number, append = false): void {
  Deno.mkdirSync(join(root, path, ".."), { recursive: true });
  Deno.writeTextFileSync(join(root, path), text, { append });
  Deno.utimeSync(join(root, path), new Date(at), new Date(at));
}

Deno.test("settler: a young archive waits for its siginfo; an old one goes at once", async () => {
  await using dir = await tempDir();
  const root = dir.path;
  const clock = new ManualClock();
  const ready: string[][] = [];
  const settler = new Settler({
    root,
    settleMs: 50,
    isKnown: () => false,
    ready: (batch) => ready.push(batch.map((a) => a.suffix)),
  }, clock);
  const young = archivePath(1, "y");
  write(root, young, "archive", clock.now());
  settler.add([artifactAt(root, young)]);
  await clock.advance(SIGINFO_WAIT_MS / 2);
  assert.deepEqual(ready, [], "waiting for the siginfo");
  write(root, `${young}.siginfo`, "siginfo", clock.now());
  settler.add([artifactAt(root, `${young}.siginfo`)]); // as its file system event would
  await clock.advance(100);
  assert.deepEqual(ready, [["tar.zst.siginfo", "tar.zst"]], "both, siginfo first");
  assert.equal(settler.size, 0);

  const old = archivePath(2, "y");
  write(root, old, "archive", clock.now() - 3600_000);
  settler.add([artifactAt(root, old)]);
  await clock.advance(50);
  assert.deepEqual(ready[1], ["tar.zst"], "unchanged for long: no settling, no siginfo wait");
  settler.close();
});

Deno.test("settler: a young archive whose siginfo never comes goes after the siginfo wait", async () => {
  await using dir = await tempDir();
  const root = dir.path;
  const clock = new ManualClock();
  const ready: string[] = [];
  const settler = new Settler({
    root,
    settleMs: 50,
    isKnown: () => false,
    ready: (batch) => ready.push(...batch.map((a) => a.path)),
  }, clock);
  const lone = archivePath(4, "n");
  write(root, lone, "archive", clock.now());
  settler.add([artifactAt(root, lone)]);
  await clock.advance(SIGINFO_WAIT_MS - 100);
  assert.deepEqual(ready, []);
  await clock.advance(200);
  assert.deepEqual(ready, [lone]);
  settler.close();
});

Deno.test("settler: a file that keeps changing is held until it stops", async () => {
  await using dir = await tempDir();
  const root = dir.path;
  const path = `${archivePath(3, "c")}.siginfo`;
  const clock = new ManualClock();
  write(root, path, "a", clock.now());
  const ready: number[] = [];
  const settler = new Settler({
    root,
    settleMs: 1000,
    isKnown: () => false,
    ready: (batch) => ready.push(...batch.map((a) => a.size)),
  }, clock);
  settler.add([artifactAt(root, path)]);
  for (let i = 0; i < 5; i++) {
    await clock.advance(600);
    write(root, path, "a", clock.now(), true);
  }
  assert.deepEqual(ready, [], "still changing");
  await clock.advance(999);
  assert.deepEqual(ready, [], "unchanged for less than the settle time");
  await clock.advance(100);
  assert.deepEqual(ready, [6], "its final size");
});
