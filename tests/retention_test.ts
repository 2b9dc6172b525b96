/**
 * The retention rules of `clean` (src/cache/retention.ts) on made-up listings: last use is the
 * later of modification time and recorded use; stamps, newest versions and the size quota;
 * siginfo files and signatures follow their archive.
 */
import assert from "node:assert/strict";
import { type Artifact, parseArtifactName } from "../src/cache/artifact.ts";
import { planRetention, type RetentionRules } from "../src/cache/retention.ts";
import { parseSize } from "../src/cache/units.ts";

const NOW = Date.UTC(2026, 0, 31);
const DAY = 86_400_000;

/** An artifact of recipe `pn`'s `task` with `hash`, last modified `days` ago. */
function artifact(
  pn: string,
  hash: string,
  suffix: string,
  days: number,
  extra: Partial<Artifact> = {},
): Artifact {
  const path = `${hash.slice(0, 2)}/${hash.slice(2, 4)}/sstate:${pn}:arm64-isar:1.0:r0:arm64:10:` +
    `${hash}_dpkg_build.${suffix}`;
  return { path, size: 100, mtime: NOW - days * DAY, ...parseArtifactName(path)!, ...extra };
}

/** An archive with its siginfo, both `days` old and last used `usedDays` ago (as refreshed). */
function version(pn: string, hash: string, days: number, usedDays?: number): Artifact[] {
  const lastUsed = usedDays === undefined ? undefined : NOW - usedDays * DAY;
  return [
    artifact(pn, hash, "tar.zst", days, lastUsed ? { lastUsed } : {}),
    artifact(pn, hash, "tar.zst.siginfo", days, lastUsed ? { lastUsed } : {}),
  ];
}

const rules = (extra: Partial<RetentionRules> = {}): RetentionRules => ({
  maxAge: 7 * 86_400,
  maxSigAge: 7 * 86_400,
  ...extra,
});
const gone = (plan: ReturnType<typeof planRetention>) =>
  [...plan.deleteArchives, ...plan.deleteOthers].map((a) => a.hash + ":" + a.suffix).sort();

Deno.test("retention: a file's last use is the later of its mtime and its recorded use", () => {
  const cache = [...version("a", "aa11", 10), ...version("b", "bb22", 10, 1)];
  const plan = planRetention(cache, rules(), NOW);
  assert.deepEqual(gone(plan), ["aa11:tar.zst", "aa11:tar.zst.siginfo"]);
  assert.deepEqual([...plan.reasons.values()], ["age", "with its archive"]);
});

Deno.test("retention: stamps keep their hashes; --keep-newest keeps the most recently used", () => {
  const cache = [
    ...version("a", "aa11", 3, 0), // newest by use
    ...version("a", "aa22", 2),
    ...version("a", "aa33", 1),
    ...version("a", "aa44", 30), // old, but a stamps directory names it
  ];
  const plan = planRetention(
    cache,
    rules({ keepNewest: 1, keepHashes: new Set(["aa44"]) }),
    NOW,
  );
  assert.deepEqual(gone(plan), [
    "aa22:tar.zst",
    "aa22:tar.zst.siginfo",
    "aa33:tar.zst",
    "aa33:tar.zst.siginfo",
  ]);
  assert.equal(plan.keptByStamps, 1);
});

Deno.test("retention: --max-size deletes least recently used first, down to at most SIZE", () => {
  const cache = [
    ...version("a", "aa11", 5, 0),
    ...version("b", "bb22", 4),
    ...version("c", "cc33", 6, 3),
    ...version("d", "dd44", 2),
    artifact("e", "ee55", "tar.zst.siginfo", 6), // a siginfo on its own, last used 6 days ago
  ];
  // 9 files of 100 bytes; 450 bytes allowed: the 5 least recently used go, each with its siginfo.
  const plan = planRetention(cache, rules({ maxAge: 30 * 86_400, maxSize: 450 }), NOW);
  assert.deepEqual(
    gone(plan),
    [
      "bb22:tar.zst",
      "bb22:tar.zst.siginfo",
      "ee55:tar.zst.siginfo",
    ].concat(["cc33:tar.zst", "cc33:tar.zst.siginfo"]).sort(),
  );
  assert.equal(plan.bytesLeft, 400);
  assert.ok([...plan.reasons.values()].every((r) => r === "size quota"));
});

Deno.test("retention: sizes for --max-size", () => {
  assert.equal(parseSize("500G", "MAX_SIZE"), 500 * 1024 ** 3);
  assert.equal(parseSize("2T", "MAX_SIZE"), 2 * 1024 ** 4);
  assert.equal(parseSize("1.5GiB", "MAX_SIZE"), 1.5 * 1024 ** 3);
  assert.equal(parseSize("4096", "MAX_SIZE"), 4096);
  assert.throws(() => parseSize("5 parsecs", "MAX_SIZE"), /cannot parse MAX_SIZE '5 parsecs'/);
});
