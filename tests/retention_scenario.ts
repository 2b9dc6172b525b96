/**
 * The retention scenarios every backend runs end to end through the CLI (see refresh_test.ts
 * and s3_refresh_test.ts): a build uses part of a cache and `upload` refreshes exactly that part,
 * so `clean --max-age` keeps it; `--max-size`, `--keep-stamps` and `--keep-newest` on last use;
 * and a clean that deletes between an upload's listing and its refreshes loses nothing.
 * Durations are seconds, as S3 cannot set a `LastModified`: the target's copies age by waiting.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Backend, Entry, ListOptions } from "../src/backends/backend.ts";
import { archivePathOf, parseArtifactName } from "../src/cache/artifact.ts";
import { LocalCache } from "../src/cache/local_cache.ts";
import { Limiter } from "../src/sync/limiter.ts";
import { runUpload } from "../src/sync/upload.ts";
import { collect } from "./backend_conformance.ts";
import { copyTree, fixtureCache, listFiles, runTool, tempDir } from "./helpers.ts";
import { WrappedBackend } from "./wrapped_backend.ts";

/** A fresh, empty cache location on one backend. */
export interface ScenarioTarget {
  url: string;
  /** The environment the tool runs with (credentials, endpoint). */
  env?: Record<string, string>;
  /** The same location opened in this process, to look at what it holds. */
  open(): Backend;
  /**
   * Checks the requests the server logged while `fn` ran against the files refreshed (one
   * request each, no data sent); absent where nothing is logged (file://).
   */
  requestsDuring?<T>(fn: () => Promise<T>): Promise<[T, string[]]>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fixture cache, copied, with every file last modified an hour ago. */
async function localCopy(dir: string, fixture: "local" | "remote" = "local"): Promise<string> {
  const local = join(dir, "local");
  await copyTree(fixtureCache("head", fixture), local);
  const past = new Date(Date.now() - 3_600_000);
  for (const f of await listFiles(local)) await Deno.utime(join(local, f), past, past);
  return local;
}

/** The local artifacts by archive: each archive with its siginfo and signature (sorted). */
async function groupsOf(local: string): Promise<string[][]> {
  const groups = new Map<string, string[]>();
  for (const f of (await listFiles(local)).sort()) {
    const name = parseArtifactName(f);
    if (!name) continue;
    const key = archivePathOf({ path: f, suffix: name.suffix });
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  return [...groups.values()];
}

/** Sets the modification time of `files` below `root` (bitbake's touch of what it uses). */
async function touch(root: string, files: readonly string[], when = new Date()): Promise<void> {
  for (const f of files) await Deno.utime(join(root, f), when, when);
}

const refreshLines = (stdout: string) =>
  stdout.split("\n").filter((l) => l.startsWith("[REFRESH] ")).map((l) => l.slice(10)).sort();

/** Paths and sizes the target holds. */
async function held(target: ScenarioTarget): Promise<Entry[]> {
  const b = target.open();
  try {
    return await collect(b);
  } finally {
    await b.close();
  }
}

/**
 * A build uses half of the artifacts; upload refreshes exactly those (one request each, no data
 * sent, counted in the summary); `clean --max-age` then deletes only the other half; a second
 * upload inside the window sends no refresh.
 */
export async function refreshScenario(target: ScenarioTarget): Promise<void> {
  await using dir = await tempDir();
  const local = await localCopy(dir.path);
  const env = target.env ?? {};
  const up = await runTool(["upload", local, target.url], env);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  const groups = await groupsOf(local);
  const all = groups.flat().sort();
  assert.deepEqual((await held(target)).map((e) => e.path), all);

  await sleep(10_000); // the target's copies age
  const used = groups.filter((_, i) => i % 2 === 0).flat().sort();
  await touch(local, used);
  // A probe: the local copy of one used file now differs; a refresh must not send it.
  const probe = used[0];
  const original = await Deno.readFile(join(local, probe));
  await Deno.writeFile(join(local, probe), original.map((b) => b ^ 0xff));
  await touch(local, [probe]);

  const refresh = () => runTool(["upload", "-v", "--refresh-after", "2s", local, target.url], env);
  const [again, requests] = target.requestsDuring
    ? await target.requestsDuring(refresh)
    : [await refresh(), []];
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.deepEqual(refreshLines(again.stdout), used, "exactly the files the build used");
  assert.match(
    again.stdout,
    new RegExp(
      `^INFO: done: 0 uploaded \\(0 B\\), ${all.length} present, ${used.length} refreshed,`,
      "m",
    ),
  );
  if (target.requestsDuring) assertRefreshRequests(target.url, requests, used);
  const b = target.open();
  try {
    assert.deepEqual(await b.read(probe), original, "the target's content is kept");
  } finally {
    await b.close();
  }

  const [inside, quiet] = target.requestsDuring
    ? await target.requestsDuring(refresh)
    : [await refresh(), []];
  assert.equal(inside.code, 0, inside.stdout + inside.stderr);
  assert.deepEqual(refreshLines(inside.stdout), [], "no refresh inside the window");
  assert.match(inside.stdout, / 0 refreshed,/);
  assert.deepEqual(quiet.filter((r) => !/^(GET|PROPFIND) /.test(r)), [], "only listings");

  const clean = await runTool(["clean", "--max-age", "7s", target.url], env);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.deepEqual((await held(target)).map((e) => e.path), used, "the used half is kept");
}

/** Refreshes: one request per file (WebDAV PROPPATCH; S3 HeadObject and a copy), no upload. */
function assertRefreshRequests(url: string, requests: string[], used: string[]): void {
  const methods = requests.map((r) => r.split(" ")[0]);
  const n = (m: string) => methods.filter((x) => x === m).length;
  if (url.startsWith("s3://")) {
    assert.equal(n("HEAD"), used.length, requests.join("\n"));
    assert.equal(n("PUT"), used.length, "one copy per used file");
  } else {
    assert.equal(n("PROPPATCH"), used.length, requests.join("\n"));
    assert.equal(n("PUT"), 0, "nothing uploaded");
  }
  assert.deepEqual(
    [...new Set(methods)].filter((m) =>
      !["GET", "PROPFIND", "HEAD", "PUT", "PROPPATCH"].includes(m)
    ),
    [],
  );
}

/** Marks the local `files` used and refreshes them on the target, so their last use is now. */
async function use(target: ScenarioTarget, local: string, files: string[]): Promise<void> {
  await touch(local, files, new Date(Date.now() + 3_600_000));
  const r = await runTool(["upload", "--refresh-after", "1s", local, target.url], target.env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(` ${files.length} refreshed,`));
  await touch(local, files, new Date(Date.now() - 3_600_000));
}

/**
 * `--keep-newest 1` keeps the most recently used version of a recipe's task (libfoo's two builds); `--max-size` with
 * `--keep-stamps` deletes least recently used first, down to at most SIZE, and keeps the hash a
 * stamps directory names although it is among the least recently used.
 */
export async function policyScenario(target: ScenarioTarget): Promise<void> {
  await using dir = await tempDir();
  const local = await localCopy(dir.path, "remote");
  const env = target.env ?? {};
  const up = await runTool(["upload", local, target.url], env);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  const groups = await groupsOf(local);
  const archive = (g: string[]) => g.find((f) => /\.(tar\.zst|tgz)$/.test(f));
  const versions = groups.filter((g) =>
    archive(g)?.includes("/sstate:libfoo:") &&
    archive(g)?.includes("_dpkg_build.")
  );
  assert.equal(versions.length, 2, "the fixture has two versions of libfoo's dpkg_build");
  const [older, newer] = [versions[1], versions[0]]; // the later path would win a tie
  await sleep(1_100);
  await use(target, local, newer);
  const recent = groups.find((g) =>
    archive(g) && !g.includes(newer[0]) &&
    !versions.includes(g)
  )!;
  await sleep(1_100);
  await use(target, local, recent);

  const why = await runTool(
    [
      "clean",
      "-v",
      "--dry-run",
      "--max-age",
      "4w",
      "--keep-newest",
      "1",
      "--filter",
      "libfoo$",
      target.url,
    ],
    env,
  );
  assert.equal(why.code, 0, why.stdout + why.stderr);
  const said = why.stdout.split("\n").filter((l) =>
    l.startsWith("INFO: ") || l.startsWith("[DELETE]")
  );
  const from = said.findIndex((l) => /^INFO: archives not among the 1 most recently used/.test(l));
  assert.ok(from >= 0, why.stdout);
  assert.equal(
    said[from + 1],
    `[DELETE] ${older.find((f) => /\.tar\.zst$/.test(f))}`,
    "why it goes",
  );
  const newest = await runTool(
    ["clean", "--max-age", "4w", "--keep-newest", "1", "--filter", "libfoo$", target.url],
    env,
  );
  assert.equal(newest.code, 0, newest.stdout + newest.stderr);
  let left = (await held(target)).map((e) => e.path);
  assert.deepEqual(left.filter((p) => older.includes(p)), [], "the older version went");
  assert.deepEqual(newer.filter((p) => !left.includes(p)), [], "the newest version stays");
  const libfooLeft = left.filter((p) => p.includes("/sstate:libfoo:"));
  const libfooBefore = groups.flat().filter((p) => p.includes("/sstate:libfoo:"));
  assert.deepEqual(libfooLeft.sort(), libfooBefore.filter((p) => !older.includes(p)).sort());

  // The least recently used group that a stamps directory names: kept all the same.
  const stamped = groups.find((g) =>
    archive(g) && g !== newer && g !== recent &&
    left.includes(archive(g)!)
  )!;
  const hash = parseArtifactName(archive(stamped)!)!.hash;
  const stamps = join(dir.path, "stamps", "debian-bookworm-arm64", "pkg");
  await Deno.mkdir(stamps, { recursive: true });
  await Deno.writeTextFile(join(stamps, `1.0-r0.do_dpkg_build.sigdata.${hash}`), "");
  const entries = await held(target);
  const size = entries.filter((e) => [...stamped, ...newer, ...recent].includes(e.path))
    .reduce((s, e) => s + e.size, 0);
  const args = [
    "clean",
    "--max-age",
    "4w",
    "--max-size",
    String(size),
    "--keep-stamps",
    join(dir.path, "stamps"),
    target.url,
  ];
  const dry = await runTool([...args.slice(0, 1), "-v", "--dry-run", ...args.slice(1)], env);
  assert.equal(dry.code, 0, dry.stdout + dry.stderr);
  assert.match(dry.stdout, /^INFO: least recently used artifacts over the size quota of \d+ /m);
  const clean = await runTool(args, env);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  const after = await held(target);
  left = after.map((e) => e.path);
  assert.deepEqual(left, [...stamped, ...newer, ...recent].sort());
  assert.ok(after.reduce((s, e) => s + e.size, 0) <= size, "at most SIZE");
}

/**
 * A clean that deletes files after an upload listed the target and before it refreshes them:
 * each refresh finds its file gone and uploads it, so the target holds every artifact again.
 */
export async function racingCleanScenario(open: () => Backend): Promise<void> {
  await using dir = await tempDir();
  const local = await localCopy(dir.path);
  const fresh = open();
  try {
    await fresh.create();
    const first = await runUpload({
      source: new LocalCache(local),
      target: fresh,
      targetExists: true,
      limiter: new Limiter(8),
    });
    assert.equal(first.totals.failed, 0);
  } finally {
    await fresh.close();
  }
  const all = (await listFiles(local)).filter((f) => parseArtifactName(f)).sort();
  await touch(local, all, new Date(Date.now() + 3_600_000));
  const doomed = all.filter((_, i) => i % 3 === 0);
  /** Lists, then deletes a third of the files: a clean between listing and refreshes. */
  class Racing extends WrappedBackend {
    override async *list(o?: ListOptions): AsyncIterable<Entry[]> {
      yield* this.inner.list(o);
      for (const path of doomed) await this.inner.delete(path);
    }
  }
  const target = new Racing(open());
  try {
    const second = await runUpload({
      source: new LocalCache(local),
      target,
      targetExists: true,
      limiter: new Limiter(8),
      refreshAfterMs: 1000,
    });
    assert.equal(second.totals.failed, 0);
    assert.equal(second.totals.stored, doomed.length, "each file found gone was uploaded");
    assert.equal(second.totals.refreshed, all.length - doomed.length);
  } finally {
    await target.close();
  }
  const check = open();
  try {
    assert.deepEqual((await collect(check)).map((e) => e.path), all);
  } finally {
    await check.close();
  }
}
