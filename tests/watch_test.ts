/**
 * `watch` as a real process on real directories, with artifacts written exactly as bitbake
 * writes them: wrapped builds and their exit codes, bursts into new directories, settling, a
 * target that goes away and comes back, SIGTERM, kill -9 and a restart.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { listFiles, runTool, tempDir } from "./helpers.ts";
import { RemoteIndex } from "../src/sync/remote_index.ts";
import {
  allPresent,
  archivePath,
  assertTargetHolds,
  eventually,
  jsonEvents,
  spawnTool,
  writeLikeBitbake,
} from "./watch_helpers.ts";

/** Deno's cache as it is, whatever XDG_CACHE_HOME the tool runs with. */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
const FAKE_BITBAKE = fileURLToPath(new URL("./fake_bitbake.ts", import.meta.url));
const fakeBitbake = (root: string, count: number, exit: number) => [
  Deno.execPath(),
  "run",
  "-A",
  "--quiet",
  FAKE_BITBAKE,
  root,
  String(count),
  String(exit),
];

/** Every final path of artifacts 0..count-1. */
const artifactPaths = (count: number, tag = "w") =>
  Array.from({ length: count }, (_, n) => [archivePath(n, tag), `${archivePath(n, tag)}.siginfo`])
    .flat();

async function setup() {
  const dir = await tempDir();
  const src = join(dir.path, "sstate");
  const dst = join(dir.path, "remote");
  await Deno.mkdir(src);
  // The index file goes to the temporary directory, not to the user's cache (Deno's stays).
  const env = { XDG_CACHE_HOME: join(dir.path, "cache"), DENO_DIR };
  return { dir, src, dst, env };
}

Deno.test("watch: a wrapped build's artifacts arrive once each, never a temporary file", async () => {
  const { dir, src, dst, env } = await setup();
  await using _ = dir;
  const run = spawnTool(["watch", "--json", src, dst, "--", ...fakeBitbake(src, 150, 0)], { env });
  const { code, stdout, stderr } = await run.finish();
  assert.equal(code, 0, stderr);
  const expected = artifactPaths(150);
  await assertTargetHolds(dst, expected);
  const events = jsonEvents(stdout);
  const uploaded = events.filter((e) => e.event === "uploaded").map((e) => e.path as string);
  assert.deepEqual([...uploaded].sort(), [...expected].sort(), "each uploaded exactly once");
  const done = events.find((e) => e.event === "done")!;
  assert.equal(done.uploaded, 300);
  assert.equal(done.notUploaded, 0);
  assert.equal(events.find((e) => e.event === "exited")?.code, 0);
  // Each archive went out after its siginfo.
  for (const archive of expected.filter((p) => p.endsWith(".tar.zst"))) {
    assert.ok(uploaded.indexOf(`${archive}.siginfo`) < uploaded.indexOf(archive), archive);
  }
});

Deno.test("watch: exits with the wrapped command's code, or 1 when uploads failed", async () => {
  const { dir, src, dst, env } = await setup();
  await using _ = dir;
  const failing = await runTool(["watch", src, dst, "--", ...fakeBitbake(src, 3, 7)], env);
  assert.equal(failing.code, 7, failing.stderr);
  await assertTargetHolds(dst, artifactPaths(3));
  assert.match(failing.stdout, /exited with code 7$/m);

  // The build succeeds, but one of its artifacts cannot be read: the uploads failed.
  const unreadable = writeLikeBitbake(src, 90, "u")[0];
  await Deno.chmod(join(src, unreadable), 0o000);
  const ok = await runTool(["watch", src, dst, "--", "true"], env, { restricted: true });
  assert.equal(ok.code, 1, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^ERROR: upload of .*sstate:pkg90-u.* failed: /m);
  assert.match(ok.stdout, /^WARNING: 1 files were not uploaded/m);
  assert.ok(allPresent(dst, [`${unreadable}.siginfo`]), "its siginfo went");

  const missing = await runTool(["watch", src, dst, "--", "no-such-command-here"], env);
  assert.equal(missing.code, 127);
  assert.match(missing.stdout, /^ERROR: cannot run no-such-command-here: command not found$/m);
});

Deno.test("watch: SIGTERM is passed on to the wrapped command, then the flush runs", async () => {
  const { dir, src, dst, env } = await setup();
  await using _ = dir;
  const build = `${fakeBitbake(src, 20, 0).join(" ")}; ` +
    'sleep 60 & pid=$!; trap "kill $pid; exit 9" TERM; echo build-waits; wait';
  const run = spawnTool(["watch", src, dst, "--", "sh", "-c", build], { env });
  await run.until(/^INFO: 0 files already present on target$/m);
  // The build has set its trap (and written its artifacts) once it says so.
  await run.until(/^build-waits$/m);
  run.child.kill("SIGTERM");
  const { code, stdout } = await run.finish();
  assert.equal(code, 143);
  assert.match(stdout, /exited with code 9$/m, "the build got the signal and ended");
  assert.match(stdout, /^INFO: done: 40 uploaded /m);
  await assertTargetHolds(dst, artifactPaths(20));
});

Deno.test("watch: bursts into new directories are uploaded while the build runs", async () => {
  const { dir, src, dst, env } = await setup();
  await using _ = dir;
  // No periodic rescan during the test: only events and the reading of new directories count.
  const run = spawnTool(["watch", "--rescan-interval", "3600", src, dst], { env });
  await run.until(/^INFO: 0 files already present on target$/m);
  const written: string[] = [];
  for (let n = 0; n < 400; n++) written.push(...writeLikeBitbake(src, n, "b"));
  const arrived = await eventually(() => allPresent(dst, written));
  // A whole tree of new directories at once (native artifacts sit one level deeper): no file in
  // it has an event of its own.
  const staging = join(dir.path, "staging");
  const moved: string[] = [];
  for (let n = 0; n < 100; n++) {
    moved.push(...writeLikeBitbake(staging, n, "n").map((p) => `debian-12-x86_64/${p}`));
  }
  await Deno.rename(staging, join(src, "debian-12-x86_64"));
  written.push(...moved);
  const movedArrived = await eventually(() => allPresent(dst, moved));
  run.child.kill("SIGTERM");
  const { code, stdout } = await run.finish();
  assert.ok(arrived, "every artifact arrived before the watch was stopped");
  assert.ok(movedArrived, "the tree moved in too");
  assert.equal(code, 0, "a requested stop with everything uploaded");
  await assertTargetHolds(dst, written);
  const lines = stdout.match(/^\S+Z uploaded /gm) ?? [];
  assert.equal(lines.length, written.length, "one timestamped line per upload");
});

Deno.test("watch: a file written in place is uploaded only once it stopped changing", async () => {
  const { dir, src, dst, env } = await setup();
  await using _ = dir;
  const run = spawnTool(["watch", "--settle", "1500", src, dst], { env });
  await run.until(/^INFO: 0 files already present on target$/m);
  const path = `${archivePath(1, "s")}.siginfo`;
  await Deno.mkdir(join(src, path, ".."), { recursive: true });
  const file = await Deno.open(join(src, path), { write: true, createNew: true });
  const half = new Uint8Array(64 * 1024).fill(1);
  await file.write(half);
  await new Promise((r) => setTimeout(r, 700)); // a writer that pauses
  await file.write(half);
  file.close();
  assert.ok(await eventually(() => allPresent(dst, [path])), "uploaded in the end");
  run.child.kill("SIGTERM");
  await run.finish();
  assert.equal((await Deno.stat(join(dst, path))).size, 128 * 1024, "the whole file");
});

Deno.test("watch: an upload that failed is tried again until it succeeds", async () => {
  const { dir, src, dst, env } = await setup();
  await using _ = dir;
  const run = spawnTool(["watch", src, dst], { env });
  await run.until(/^INFO: 0 files already present on target$/m);
  // A directory in the way of the archive on the target: its upload fails, nothing else does.
  const archive = archivePath(5, "r");
  await Deno.mkdir(join(dst, archive), { recursive: true });
  const written = writeLikeBitbake(src, 5, "r");
  await run.until(/^ERROR: upload of .*pkg5-r.* failed: .*; trying again in 1s$/m);
  await Deno.remove(join(dst, archive));
  const arrived = await eventually(() => allPresent(dst, written));
  run.child.kill("SIGTERM");
  const { code, stdout } = await run.finish();
  assert.ok(arrived, stdout);
  assert.equal(code, 0, "a requested stop with everything uploaded");
  assert.match(stdout, /^INFO: done: 2 uploaded .* 0 not uploaded in /m);
  await assertTargetHolds(dst, written);
});

Deno.test("watch: an unreadable directory is reported once, uploaded once readable", async () => {
  const { dir, src, dst, env } = await setup();
  await using _ = dir;
  const run = spawnTool(["watch", "--rescan-interval", "1", src, dst], { env, restricted: true });
  await run.until(/^INFO: 0 files already present on target$/m);
  const staging = join(dir.path, "staging");
  const written = writeLikeBitbake(staging, 1, "x").map((p) => `native/${p}`);
  const leaf = written[0].split("/").slice(0, 3).join("/");
  await Deno.chmod(join(staging, leaf.slice("native/".length)), 0o000);
  await Deno.rename(staging, join(src, "native"));
  await run.until(/^WARNING: skipping unreadable directory native\/\w+\/\w+ /m);
  await new Promise((r) => setTimeout(r, 2500)); // rescans meanwhile
  await Deno.chmod(join(src, leaf), 0o755);
  const arrived = await eventually(() => allPresent(dst, written));
  run.child.kill("SIGTERM");
  const { stdout } = await run.finish();
  assert.ok(arrived, stdout);
  assert.equal(stdout.match(/unreadable directory/g)?.length, 1, "said once");
});

Deno.test("watch --json: warnings are events too, so a CI log parser sees them", async () => {
  const { dir, src, dst, env } = await setup();
  await using _ = dir;
  const written = writeLikeBitbake(src, 0, "j");
  await Deno.mkdir(join(src, "ab/cd"), { recursive: true });
  await Deno.chmod(join(src, "ab/cd"), 0o000);
  const run = spawnTool(["watch", "--json", src, dst, "--", "true"], { env, restricted: true });
  const { code, stdout } = await run.finish();
  await Deno.chmod(join(src, "ab/cd"), 0o755);
  assert.equal(code, 0, stdout);
  const warnings = jsonEvents(stdout).filter((e) => e.event === "warning");
  assert.equal(warnings.length, 1, stdout);
  assert.match(String(warnings[0].message), /^skipping unreadable directory ab\/cd /);
  await assertTargetHolds(dst, written);
});

Deno.test("watch: a target that goes away holds the uploads, reports once, then catches up", async () => {
  const { dir, src, dst, env } = await setup();
  await using _ = dir;
  const run = spawnTool(["watch", src, dst], { env, restricted: true });
  await run.until(/^INFO: 0 files already present on target$/m);
  const first = writeLikeBitbake(src, 0, "o");
  assert.ok(await eventually(() => allPresent(dst, first)));
  // The target becomes read-only for the watch (it runs as an ordinary user would).
  const chmodAll = (mode: string) =>
    new Deno.Command("chmod", { args: ["-R", mode, dst] }).output();
  await chmodAll("a-w");
  const during: string[] = [];
  try {
    for (let n = 1; n <= 30; n++) during.push(...writeLikeBitbake(src, n, "o"));
    await run.until(/^WARNING: file:\/\/.* is unreachable \(.*\); \d+ files wait for it/m);
    await new Promise((r) => setTimeout(r, 2500)); // a few probes while it is down
    assert.ok(!allPresent(dst, during.slice(0, 1)), "nothing was stored meanwhile");
  } finally {
    await chmodAll("u+w");
  }
  const arrived = await eventually(() => allPresent(dst, during));
  run.child.kill("SIGTERM");
  const { code, stdout } = await run.finish();
  assert.ok(arrived, stdout);
  assert.equal(code, 0, "a requested stop with everything uploaded");
  assert.equal(stdout.match(/is unreachable/g)?.length, 1, "one report per outage");
  assert.match(
    stdout,
    /^INFO: file:\/\/.* is still unreachable after \d+s; [1-9]\d* files wait for it$/m,
    "the pending count is reported while the target is down",
  );
  assert.match(stdout, /^INFO: file:\/\/.* is reachable again after \d+s; uploading \d+ /m);
  await assertTargetHolds(dst, [...first, ...during]);
});

Deno.test("watch: SIGTERM uploads what is pending, then exits with 0 (a requested stop)", async () => {
  const { dir, src, dst, env } = await setup();
  await using _ = dir;
  const run = spawnTool(["watch", "--settle", "4000", src, dst], { env });
  await run.until(/^INFO: 0 files already present on target$/m);
  const written: string[] = [];
  for (let n = 0; n < 20; n++) written.push(...writeLikeBitbake(src, n, "t"));
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(await listFiles(dst), [], "still settling");
  run.child.kill("SIGTERM");
  const { code, stdout, stderr } = await run.finish();
  assert.equal(code, 0, stdout + stderr);
  assert.match(stderr, /^interrupted: finishing the work in progress/m);
  assert.match(stdout, /^INFO: done: 40 uploaded .* 0 not uploaded in /m);
  await assertTargetHolds(dst, written);
});

Deno.test("watch: a second signal ends a flush that waits for a target that is down", async () => {
  const { dir, src, dst, env } = await setup();
  await using _ = dir;
  const run = spawnTool(["watch", src, dst], { env, restricted: true });
  await run.until(/^INFO: 0 files already present on target$/m);
  const chmodAll = (mode: string) =>
    new Deno.Command("chmod", { args: ["-R", mode, dst] }).output();
  await chmodAll("a-w");
  try {
    for (let n = 0; n < 5; n++) writeLikeBitbake(src, n, "s");
    await run.until(/is unreachable/);
    run.child.kill("SIGTERM");
    await run.until(/^interrupted: finishing the work in progress/m);
    run.child.kill("SIGTERM");
    // The flush would wait a minute for the target; the second signal must end it now.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stuck = new Promise<null>((r) => timer = setTimeout(() => r(null), 30_000));
    const ended = await Promise.race([run.finish(), stuck]);
    clearTimeout(timer);
    if (!ended) run.child.kill("SIGKILL");
    assert.ok(ended, "the second signal did not end the flush");
    assert.equal(ended.code, 143);
    assert.match(ended.stderr, /^interrupted again: stopping now/m);
    assert.match(ended.stdout, /^INFO: done: 0 uploaded .*, 10 not uploaded in /m);
    assert.match(ended.stdout, /^WARNING: 10 files were not uploaded; the next watch or upload/m);
  } finally {
    await chmodAll("u+w");
  }
  assert.deepEqual(await listFiles(dst), [], "nothing half-written is left");
});

Deno.test("watch: --settle and --rescan-interval out of range are one-line errors", async () => {
  const { dir, src, dst, env } = await setup();
  await using _ = dir;
  for (
    const [args, message] of [
      [["--settle", "700000"], /^ERROR: --settle must be between 0 and 600000, got 700000$/m],
      [
        ["--rescan-interval", "0"],
        /^ERROR: --rescan-interval must be between 1 and 86400, got 0$/m,
      ],
    ] as const
  ) {
    const r = await runTool(["watch", ...args, src, dst], env);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, message);
    assert.equal((r.stdout + r.stderr).trim().split("\n").length, 1, "one line");
  }
  assert.deepEqual(await listFiles(dir.path), [], "nothing was created");
});

Deno.test("watch: after kill -9, a restart uploads what was missed, using the saved index", async () => {
  const { dir, src, dst, env } = await setup();
  await using _ = dir;
  const before: string[] = [];
  for (let n = 0; n < 10; n++) before.push(...writeLikeBitbake(src, n, "k"));
  const first = spawnTool(["watch", src, dst], { env });
  await first.until(/^INFO: 0 files already present on target$/m);
  const saved = await eventually(async () => await indexSize(join(dir.path, "cache")) === 20);
  assert.ok(saved, "the index was saved once the missing files were stored");
  // Killed in the middle of a burst of uploads.
  const burst: string[] = [];
  for (let n = 100; n < 300; n++) burst.push(...writeLikeBitbake(src, n, "k"));
  await first.until(/ uploaded \S+pkg\d{3}-k/m);
  first.child.kill("SIGKILL");
  await first.finish();
  const whileDown: string[] = [];
  for (let n = 20; n < 30; n++) whileDown.push(...writeLikeBitbake(src, n, "k"));

  const second = spawnTool(["watch", src, dst], { env });
  await second.until(/^INFO: \d+ files already present on target$/m);
  assert.ok(await eventually(() => allPresent(dst, [...burst, ...whileDown])));
  second.child.kill("SIGTERM");
  const { code, stdout } = await second.finish();
  assert.equal(code, 0, "a requested stop with everything uploaded");
  assert.match(stdout, /^INFO: using the index saved in .* \(20 files\) until the listing/m);
  // Files the killed run was writing were removed, none is half there.
  await assertTargetHolds(dst, [...before, ...burst, ...whileDown]);
});

/** Paths in the one index file below `cacheHome` (0 while there is none). */
async function indexSize(cacheHome: string): Promise<number> {
  try {
    const [file] = [...Deno.readDirSync(join(cacheHome, "isar-sstate"))];
    return (await RemoteIndex.load(join(cacheHome, "isar-sstate", file.name))).size;
  } catch {
    return 0;
  }
}

const WATCH_LIMIT = "/proc/sys/fs/inotify/max_user_watches";

/** Inotify watches in use by all processes now. */
function watchesInUse(): number {
  let count = 0;
  for (const proc of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(proc.name)) continue;
    try {
      for (const fd of Deno.readDirSync(`/proc/${proc.name}/fdinfo`)) {
        const info = Deno.readTextFileSync(`/proc/${proc.name}/fdinfo/${fd.name}`);
        count += info.match(/^inotify wd:/gm)?.length ?? 0;
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return count;
}

/**
 * Runs `body` with the inotify watch limit lowered to what is in use plus `spare`; `restore`
 * (given to body) puts the old limit back early, and it is put back in any case.
 */
async function withWatchLimit(
  spare: number,
  body: (restore: () => void) => Promise<void>,
): Promise<void> {
  const old = Deno.readTextFileSync(WATCH_LIMIT).trim();
  const restore = () => Deno.writeTextFileSync(WATCH_LIMIT, old);
  Deno.writeTextFileSync(WATCH_LIMIT, String(watchesInUse() + spare));
  try {
    await body(restore);
  } finally {
    restore();
  }
}

/** Whether the sysctl can be changed here (root, /proc/sys writable). */
const canLowerLimit = (() => {
  try {
    const old = Deno.readTextFileSync(WATCH_LIMIT);
    Deno.writeTextFileSync(WATCH_LIMIT, old);
    return true;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "watch: past the inotify limit it says so once, names the sysctl, and rescans",
  ignore: !canLowerLimit,
  async fn() {
    const { dir, src, dst, env } = await setup();
    await using _ = dir;
    const existing: string[] = [];
    for (let n = 0; n < 40; n++) existing.push(...writeLikeBitbake(src, n, "l"));
    let run!: ReturnType<typeof spawnTool>;
    await withWatchLimit(20, async (restore) => {
      run = spawnTool(["watch", src, dst], { env });
      await run.until(/^WARNING: cannot watch the source for changes/m);
      restore();
    });
    const added: string[] = [];
    for (let n = 40; n < 60; n++) added.push(...writeLikeBitbake(src, n, "l"));
    const arrived = await eventually(() => allPresent(dst, [...existing, ...added]));
    run.child.kill("SIGTERM");
    const { stdout } = await run.finish();
    assert.ok(arrived, stdout);
    assert.match(stdout, /inotify watch limit \(fs\.inotify\.max_user_watches\) is reached/);
    assert.match(stdout, /raise it with 'sudo sysctl fs\.inotify\.max_user_watches=\d+'/);
    assert.equal(stdout.match(/cannot watch/g)?.length, 1, "said once");
    await assertTargetHolds(dst, [...existing, ...added]);
  },
});

Deno.test({
  name: "watch: reaching the inotify limit while running falls back to rescans",
  ignore: !canLowerLimit,
  async fn() {
    const { dir, src, dst, env } = await setup();
    await using _ = dir;
    const written = writeLikeBitbake(src, 0, "m");
    await withWatchLimit(10, async () => {
      const run = spawnTool(["watch", src, dst], { env });
      await run.until(/^INFO: 0 files already present on target$/m);
      for (let n = 1; n <= 40; n++) written.push(...writeLikeBitbake(src, n, "m"));
      await run.until(/^WARNING: cannot watch the source for changes/m);
      const arrived = await eventually(() => allPresent(dst, written));
      run.child.kill("SIGTERM");
      const { stdout } = await run.finish();
      assert.ok(arrived, stdout);
    });
    await assertTargetHolds(dst, written);
  },
});
