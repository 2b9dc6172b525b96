/** The totals `info` gathers while a listing streams by (src/commands/info_tally.ts). */
import assert from "node:assert/strict";
import { type Artifact, parseArtifactName } from "../src/cache/artifact.ts";
import { InfoTally } from "../src/commands/info_tally.ts";

const NOW = Date.UTC(2026, 0, 31);
const DAY = 86_400_000;

function artifact(pn: string, task: string, suffix: string, days: number, size = 10): Artifact {
  const hash = "ab".repeat(32);
  const path = `ab/ab/sstate:${pn}:arm64-isar:1.0:r0:${pn === "n" ? "" : "arm64"}:10:` +
    `${hash}_${task}.${suffix}`;
  return { path, size, mtime: NOW - days * DAY, ...parseArtifactName(path)! };
}

Deno.test("info tally: totals, tallies by key, spans of last use, recipes by key task", () => {
  const tally = new InfoTally(true, true);
  tally.add([
    artifact("b", "dpkg_build", "tar.zst", 0.5),
    artifact("b", "dpkg_build", "tar.zst.siginfo", 3),
    artifact("a", "rootfs_install", "tar.zst", 10, 100),
  ]);
  tally.add([
    artifact("n", "fetch", "tgz", 40, 1),
    artifact("c", "dpkg_build", "tar.zst.siginfo", 2),
    artifact("c", "bootstrap", "tar.zst", 2),
  ]);
  assert.equal(tally.files, 6);
  assert.equal(tally.bytes, 141);
  assert.equal(tally.oldest, NOW - 40 * DAY);
  assert.equal(tally.newest, NOW - 0.5 * DAY);
  assert.deepEqual(tally.archs.sorted(), {
    "": { files: 1, bytes: 1 },
    arm64: { files: 5, bytes: 140 },
  });
  assert.deepEqual(Object.keys(tally.tasks.sorted()), [
    "bootstrap",
    "dpkg_build",
    "fetch",
    "rootfs_install",
  ]);
  assert.deepEqual(tally.kinds.sorted(), {
    archive: { files: 4, bytes: 121 },
    siginfo: { files: 2, bytes: 20 },
  });
  assert.deepEqual(tally.lastUseTallies(NOW), {
    day: { files: 1, bytes: 10 },
    week: { files: 3, bytes: 30 },
    fourWeeks: { files: 1, bytes: 100 },
    earlier: { files: 1, bytes: 1 },
  });
  assert.deepEqual([...tally.recipes()], [
    { pn: "a", kinds: ["rootfs"], archives: { deb: 0, rootfs: 1, bootstrap: 0 } },
    { pn: "b", kinds: ["deb"], archives: { deb: 1, rootfs: 0, bootstrap: 0 } },
    { pn: "c", kinds: ["deb", "bootstrap"], archives: { deb: 0, rootfs: 0, bootstrap: 1 } },
    { pn: "n", kinds: [], archives: { deb: 0, rootfs: 0, bootstrap: 0 } },
  ]);
});
