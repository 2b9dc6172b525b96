/**
 * Uploads racing a real `clean` that prunes the directories they go into. WebDAV (a real Apache
 * mod_dav): the backend, `upload` and `watch` must forget collections that a clean removed and
 * create them again, so that no artifact is lost to a 409 Conflict. file://: a directory pruned
 * between its creation and the link into it is created again.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { placeFile } from "../src/backends/file/place_file.ts";
import { WebDavBackend } from "../src/backends/webdav/webdav.ts";
import { collect, localFile } from "./backend_conformance.ts";
import { listFiles, runTool, tempDir, toolArgv } from "./helpers.ts";
import { type Apache, haveApache, startApache } from "./servers/apache.ts";
import { archiveData, jsonEvents, spawnTool, writeLikeBitbake } from "./watch_helpers.ts";

/** Deno's cache as it is, whatever XDG_CACHE_HOME the tool runs with. */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
const hex2 = (n: number) => n.toString(16).padStart(2, "0");
const TEN_DAYS_AGO = new Date(Date.now() - 10 * 86_400_000);

/** An archive path in collection `xx/yy`, of recipe `pn`. */
function artifactIn(xx: string, yy: string, pn: string, n: number): string {
  const hash = `${xx}${yy}${n.toString(16).padStart(8, "0")}`.padEnd(64, "0");
  return `${xx}/${yy}/sstate:${pn}:arm64-isar:1.0:r0:arm64:10:${hash}_dpkg_build.tar.zst`;
}

/**
 * Stores an old artifact in `xx/00/` of each of `dirs` on the server (a PUT, then its time set
 * ten days back on disk), for a clean to delete, leaving the collections empty to prune.
 */
async function plantOld(apache: Apache, url: string, dirs: string[], round: number) {
  await using scratch = await tempDir();
  const src = await localFile(scratch.path, "old", new TextEncoder().encode("old"));
  const planter = new WebDavBackend(url);
  try {
    await planter.create();
    let next = 0;
    const worker = async () => {
      while (next < dirs.length) {
        const i = next++;
        const path = artifactIn(dirs[i], "00", `old${round}`, i);
        await planter.put(path, src);
        const file = join(apache.dir, url.slice(apache.url.length), path);
        await Deno.utime(file, TEN_DAYS_AGO, TEN_DAYS_AGO);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  } finally {
    await planter.close();
  }
}

/** The real `clean`: deletes the planted artifacts and prunes the collections they leave empty. */
async function clean(url: string): Promise<void> {
  const { code, stderr } = await runTool(["clean", "--max-age", "1d", url]);
  assert.equal(code, 0, stderr);
}

/** Asserts that the server holds every one of `expected`, complete, and nothing else new. */
async function assertOnServer(dir: string, expected: string[]): Promise<void> {
  const files = await listFiles(dir);
  const missing = expected.filter((p) => !files.includes(p));
  assert.deepEqual(missing, [], `${missing.length} of ${expected.length} not on the server`);
  const others = files.filter((p) => !expected.includes(p) && !/sstate:old\d+:/.test(p));
  assert.deepEqual(others, [], "nothing but the artifacts and planted old ones");
  for (const path of expected.filter((p) => /sstate:pkg\d+-w:.*\.tar\.zst$/.test(p))) {
    const n = Number(/sstate:pkg(\d+)-/.exec(path)![1]);
    assert.deepEqual(await Deno.readFile(join(dir, path)), archiveData(n), `${path} complete`);
  }
}

Deno.test({
  name: "webdav prune race: puts create again the collections a clean pruned",
  ignore: !haveApache(),
  async fn() {
    await using apache = await startApache();
    await using scratch = await tempDir();
    const url = `${apache.url}cache/`;
    const src = await localFile(scratch.path, "new", new TextEncoder().encode("new"));
    const b = new WebDavBackend(url);
    await b.create();
    try {
      const stored: string[] = [];
      for (let round = 0; round < 3; round++) {
        const dirs = Array.from({ length: 16 }, (_, i) => hex2(round * 16 + i));
        await plantOld(apache, url, dirs, round);
        await collect(b); // the backend now knows xx/ and xx/00/ of each
        await clean(url); // ... which are gone now
        const paths = dirs.flatMap((xx, i) => [
          artifactIn(xx, "00", "pkg", i), // the collection it knew
          artifactIn(xx, "01", "pkg", i), // a new one in a collection it knew
        ]);
        const results = await Promise.all(paths.map((p) => b.put(p, src, { ifAbsent: true })));
        assert.deepEqual(results, paths.map(() => "stored"));
        stored.push(...paths);
      }
      const onServer = (await listFiles(join(apache.dir, "cache"))).sort();
      assert.deepEqual(onServer, [...stored].sort());
    } finally {
      await b.close();
    }
  },
});

Deno.test({
  name: "webdav prune race: a long upload with clean pruning beside it stores every file",
  ignore: !haveApache(),
  async fn() {
    await using apache = await startApache();
    await using dir = await tempDir();
    const url = `${apache.url}cache/`;
    const src = join(dir.path, "sstate");
    const expected: string[] = [];
    for (let n = 0; n < 600; n++) expected.push(...writeLikeBitbake(src, n));
    const all = Array.from({ length: 256 }, (_, i) => hex2(i));
    await plantOld(apache, url, all, 0);
    const upload = new Deno.Command(toolArgv(["upload", "-j", "1", src, url])[0], {
      args: toolArgv(["upload", "-j", "1", src, url]).slice(1),
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = upload.output();
    // Once files arrive, the upload has listed the target: prune beside it while it runs.
    const target = join(apache.dir, "cache");
    while ((await listFiles(target)).length < 256 + 20) {
      await new Promise((r) => setTimeout(r, 50));
    }
    let running = true;
    output.finally(() => (running = false));
    let cleans = 0;
    for (let round = 1; cleans === 0 || running; round++) {
      await clean(url);
      cleans++;
      if (running) await plantOld(apache, url, all, round);
    }
    const { code, stdout, stderr } = await output;
    const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 0, text);
    assert.match(text, new RegExp(`done: ${expected.length} uploaded .* 0 failed`));
    await assertOnServer(target, expected);
  },
});

Deno.test({
  name: "webdav prune race: watch uploads every artifact while clean prunes every second",
  ignore: !haveApache(),
  async fn() {
    await using apache = await startApache();
    await using dir = await tempDir();
    const url = `${apache.url}cache/`;
    const src = join(dir.path, "sstate");
    await Deno.mkdir(src);
    const flag = join(dir.path, "build-done");
    const all = Array.from({ length: 256 }, (_, i) => hex2(i));
    await plantOld(apache, url, all, 0);
    const env = { XDG_CACHE_HOME: join(dir.path, "cache"), DENO_DIR };
    const build = ["bash", "-c", `while [ ! -e '${flag}' ]; do sleep 0.1; done`];
    const run = spawnTool(["watch", "--json", src, url, "--", ...build], { env });
    await run.until(/"event":"planned"/, 60_000); // it knows every xx/ and xx/00/ now
    // Rounds of a second or more: a clean prunes what it emptied while new artifacts arrive,
    // then old artifacts are planted again for the next clean in collections that hold new
    // ones (so that those are not re-created for the watch by the planting).
    const expected: string[] = [];
    const perRound = 100;
    const target = join(apache.dir, "cache");
    for (let round = 0; round < 5; round++) {
      const cleaning = clean(url);
      for (let n = round * perRound; n < (round + 1) * perRound; n++) {
        expected.push(...writeLikeBitbake(src, n));
        if (n % 20 === 0) await new Promise((r) => setTimeout(r, 100));
      }
      await cleaning;
      await new Promise((r) => setTimeout(r, 1000));
      const used = new Set(
        (await listFiles(target)).filter((p) => !p.includes("sstate:old"))
          .map((p) => p.slice(0, 2)),
      );
      await plantOld(apache, url, [...used], round + 1);
    }
    await Deno.writeTextFile(flag, "");
    const { code, stdout, stderr } = await run.finish();
    assert.equal(code, 0, stderr);
    const events = jsonEvents(stdout);
    const uploaded = events.filter((e) => e.event === "uploaded").map((e) => e.path as string);
    assert.deepEqual(uploaded.sort(), [...expected].sort());
    const done = events.find((e) => e.event === "done")!;
    assert.equal(done.uploaded, expected.length);
    assert.equal(done.notUploaded, 0);
    assert.equal(done.exitCode, 0);
    assert.equal(events.filter((e) => e.event === "failed").length, 0, stdout);
    await assertOnServer(join(apache.dir, "cache"), expected);
  },
});

/** Old artifacts in `xx/00/` of each of `dirs` below `root`, for a clean to delete. */
async function plantOldOnDisk(root: string, dirs: string[], round: number): Promise<void> {
  for (const [i, xx] of dirs.entries()) {
    const file = join(root, artifactIn(xx, "00", `old${round}`, i));
    await Deno.mkdir(join(file, ".."), { recursive: true });
    await Deno.writeTextFile(file, "old");
    await Deno.utime(file, TEN_DAYS_AGO, TEN_DAYS_AGO);
  }
}

Deno.test("file prune race: an upload with clean pruning beside it stores every file", async () => {
  await using dir = await tempDir();
  const target = join(dir.path, "target");
  const src = join(dir.path, "sstate");
  const expected: string[] = [];
  for (let n = 0; n < 3000; n++) expected.push(...writeLikeBitbake(src, n));
  const all = Array.from({ length: 256 }, (_, i) => hex2(i));
  await plantOldOnDisk(target, all, 0);
  const argv = toolArgv(["upload", "-j", "1", src, target]);
  const upload = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const output = upload.output();
  let running = true;
  output.finally(() => (running = false));
  let cleans = 0;
  for (let round = 1; cleans === 0 || running; round++) {
    await clean(target);
    cleans++;
    if (running) await plantOldOnDisk(target, all, round);
  }
  const { code, stdout, stderr } = await output;
  const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  assert.equal(code, 0, text);
  assert.match(text, new RegExp(`done: ${expected.length} uploaded .* 0 failed`));
  await assertOnServer(target, expected);
});

Deno.test("file prune race: a directory pruned just before the link is created again", async () => {
  await using dir = await tempDir();
  const source = join(dir.path, "source");
  await Deno.writeTextFile(source, "content");
  const target = join(dir.path, "cache", "ab", "cd", "file");
  // A clean prunes the (seemingly empty) directories right before the file goes into place.
  const prune = () => {
    for (const d of ["cache/ab/cd", "cache/ab"]) {
      try {
        Deno.removeSync(join(dir.path, d)); // rmdir: only if empty, as a clean does
      } catch {
        // not empty (a temporary file is in it), or gone
      }
    }
  };
  let prunes = 0;
  const check = {
    cancelled: () => false,
    cancelledOrCommit: () => {
      prunes++;
      prune();
      return false;
    },
  };
  const job = { source, temp: `${target}.tmp`, target, size: 7, exclusive: true };
  assert.equal(placeFile(job, new Set(), check), "stored");
  assert.ok(prunes >= 1);
  assert.equal(await Deno.readTextFile(target), "content");
  assert.deepEqual(await listFiles(join(dir.path, "cache")), ["ab/cd/file"]);
});
