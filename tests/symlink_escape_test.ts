/**
 * Symbolic links planted in a cache never take a command out of it: links to `/` (spelt in
 * several ways), to the cache's parent, to a sibling cache and to the cache itself are skipped by
 * every walk (clean, its dry run, info, lint, analyze, upload to a directory and to WebDAV,
 * watch), noted once with their count, and nothing outside the cache is listed, uploaded or
 * deleted. Links to files stay artifacts; clean removes such a link, never what it points to.
 *
 * Each test first runs what only reads, and asserts; what writes or deletes runs only after that
 * passed, so a walk that escapes is caught before it could delete anything outside.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseArtifactName } from "../src/cache/artifact.ts";
import { LocalCache } from "../src/cache/local_cache.ts";
import { SourceTree } from "../src/sync/watch/source_tree.ts";
import { copyTree, fixtureCache, listFiles, runTool, tempDir } from "./helpers.ts";
import { haveApache, startApache } from "./servers/apache.ts";
import { allPresent, eventually, spawnTool, writeLikeBitbake } from "./watch_helpers.ts";

const DAY = 86400 * 1000;
const DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;

/** Links planted in the cache (relative to it) and where they point. */
function plantedLinks(dir: string): Record<string, string> {
  return {
    "root-link": "/",
    "cd/ef/slash": "/",
    "cd/ef/slashes": "//",
    "cd/ef/slash-dot": "/.",
    "cd/ef/tmp-up": "/tmp/..",
    "up": "..", // the cache's parent, which holds the sibling cache
    "cd/ef/up-abs": dir,
    "sibling": "../sibling",
    "cd/ef/sibling-abs": join(dir, "sibling"),
    "self": ".",
    "cd/self-up": "..",
    "cd/ef/self-abs": join(dir, "cache"),
  };
}
const DIRECTORY_LINKS = 12;

/** Every file and link below `root` (never through a link): path, size, mtime, kind. */
function snapshot(root: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(rel === "" ? root : join(root, rel))) {
    const path = rel === "" ? e.name : `${rel}/${e.name}`;
    const info = Deno.lstatSync(join(root, path));
    if (e.isDirectory) out.push(...snapshot(root, path));
    else out.push(`${path} ${info.size} ${info.mtime?.getTime()} ${e.isSymlink ? "link" : "file"}`);
  }
  return out.sort();
}

/** Real directories below `root` and the root itself (never through a link). */
function realDirectories(root: string): number {
  let count = 1;
  for (const e of Deno.readDirSync(root)) {
    if (e.isDirectory) count += realDirectories(join(root, e.name));
  }
  return count;
}

/**
 * A cache (a copy of the local fixture) with every link of `plantedLinks` and one link to a
 * file of the sibling cache (a copy of the remote fixture) under an artifact's name; all files
 * 10 days old. `plain` is the same cache without the links to directories, for comparisons.
 */
async function setup() {
  const dir = await tempDir("isar-sstate-links-");
  const cache = join(dir.path, "cache");
  const sibling = join(dir.path, "sibling");
  await copyTree(fixtureCache("head", "local"), cache);
  await copyTree(fixtureCache("head", "remote"), sibling);
  const old = new Date(Date.now() - 10 * DAY);
  for (const root of [cache, sibling]) {
    for (const f of await listFiles(root)) await Deno.utime(join(root, f), old, old);
  }
  const own = await listFiles(cache);
  for (const [path, target] of Object.entries(plantedLinks(dir.path))) {
    await Deno.mkdir(join(cache, path, ".."), { recursive: true });
    await Deno.symlink(target, join(cache, path));
  }
  const plain = join(dir.path, "plain");
  await copyTree(fixtureCache("head", "local"), plain);
  const linkedFile = (await listFiles(sibling)).find((f) => f.endsWith(".siginfo"))!;
  const fileLink = `fl/ee/${linkedFile.split("/").at(-1)}`;
  for (const root of [cache, plain]) {
    await Deno.mkdir(join(root, "fl/ee"), { recursive: true });
    await Deno.symlink(join(sibling, linkedFile), join(root, fileLink));
  }
  const artifacts = [...own, fileLink].filter((f) => parseArtifactName(f)).sort();
  return { dir, cache, plain, sibling, own, artifacts, fileLink, linkedFile };
}

/** The one note on skipped links in `output` (asserted to be there once). */
function assertLinksNoted(output: string, count = DIRECTORY_LINKS): void {
  const notes = output.split("\n").filter((l) => l.includes("symbolic links to directories"));
  assert.equal(notes.length, 1, output);
  assert.match(notes[0], new RegExp(`skipped ${count} symbolic links to directories in file://`));
}

/** Lines of `output` that name a path through one of the planted links. */
function throughLinks(output: string): string[] {
  const names =
    /(^|[\s/])(root-link|slash|slashes|slash-dot|tmp-up|up|up-abs|sibling|sibling-abs|self|self-up|self-abs)\//;
  return output.split("\n").filter((l) => names.test(l));
}

Deno.test("links to directories never take clean, info, lint or analyze out of the cache", async () => {
  const { dir, cache, plain, sibling, own, artifacts, linkedFile } = await setup();
  await using _ = dir;
  const siblingBefore = snapshot(sibling);

  const info = await runTool(["info", "--json", cache]);
  assert.equal(info.code, 0, info.stderr);
  assert.equal(JSON.parse(info.stdout).files, own.length + 1, "its own files and the file link");
  assertLinksNoted(info.stderr);

  const dry = await runTool(["clean", "--dry-run", "-v", "--max-age", "1d", cache]);
  assert.equal(dry.code, 0, dry.stdout);
  assert.deepEqual(throughLinks(dry.stdout), []);
  const wouldDelete = dry.stdout.split("\n").filter((l) => l.startsWith("[DELETE] "));
  assert.deepEqual(wouldDelete.map((l) => l.slice(9)).sort(), artifacts);
  assertLinksNoted(dry.stdout);

  const lint = await runTool(["lint", "--json", cache]);
  const lintPlain = await runTool(["lint", "--json", plain]);
  assert.equal(JSON.parse(lint.stdout).scanned, JSON.parse(lintPlain.stdout).scanned);
  assertLinksNoted(lint.stderr);

  const analyze = await runTool(["analyze", "--json", cache, sibling]);
  const analyzePlain = await runTool(["analyze", "--json", plain, sibling]);
  assert.equal(analyze.code, 0, analyze.stderr);
  const items = (stdout: string) =>
    JSON.parse(stdout).items.map((i: { pn: string; hash: string }) => `${i.pn} ${i.hash}`);
  assert.deepEqual(items(analyze.stdout), items(analyzePlain.stdout));
  assertLinksNoted(analyze.stderr);
  assert.deepEqual(snapshot(sibling), siblingBefore, "reading changed nothing outside");

  // Only now, with every walk shown to stay inside: the clean itself.
  const clean = await runTool(["clean", "-v", "--max-age", "1d", cache]);
  assert.equal(clean.code, 0, clean.stdout);
  assert.deepEqual(throughLinks(clean.stdout), []);
  assert.match(clean.stdout, new RegExp(`^INFO: done: ${artifacts.length} deleted, 0 failed`, "m"));
  assertLinksNoted(clean.stdout);
  assert.deepEqual(snapshot(sibling), siblingBefore, "the sibling cache is untouched");
  assert.ok(Deno.statSync(join(sibling, linkedFile)).isFile, "a linked file's target stays");
  for (const [path, target] of Object.entries(plantedLinks(dir.path))) {
    assert.equal(Deno.readLinkSync(join(cache, path)), target, `${path} stays`);
  }
  assert.deepEqual(
    snapshot(cache).filter((l) => !l.endsWith(" link")),
    [],
    "every own artifact went, and the file link",
  );
});

Deno.test("upload never leaves its source through a link, to a directory or to WebDAV", async () => {
  const { dir, cache, sibling, artifacts, fileLink, linkedFile } = await setup();
  await using _ = dir;
  const siblingBefore = snapshot(sibling);
  const target = join(dir.path, "target");

  const dry = await runTool(["upload", "--dry-run", "-v", cache, target]);
  assert.equal(dry.code, 0, dry.stdout);
  assert.deepEqual(throughLinks(dry.stdout), []);
  const wouldUpload = dry.stdout.split("\n").filter((l) => l.startsWith("[UPLOAD] "));
  assert.deepEqual(wouldUpload.map((l) => l.slice(9)).sort(), artifacts);
  assertLinksNoted(dry.stdout);

  const up = await runTool(["upload", cache, target]);
  assert.equal(up.code, 0, up.stdout);
  assert.match(up.stdout, new RegExp(`^INFO: done: ${artifacts.length} uploaded`, "m"));
  assertLinksNoted(up.stdout);
  assert.doesNotMatch(up.stdout, /unreadable/, "skipped links are no unreadable parts");
  assert.deepEqual(await listFiles(target), artifacts);
  assert.deepEqual(
    Deno.readFileSync(join(target, fileLink)),
    Deno.readFileSync(join(sibling, linkedFile)),
    "a linked file is uploaded as a file",
  );
  assert.deepEqual(snapshot(sibling), siblingBefore);

  if (haveApache()) {
    await using apache = await startApache();
    const webdav = await runTool(["upload", cache, `${apache.url}links/`]);
    assert.equal(webdav.code, 0, webdav.stdout);
    assert.match(webdav.stdout, new RegExp(`^INFO: done: ${artifacts.length} uploaded`, "m"));
    assert.deepEqual(await listFiles(join(apache.dir, "links")), artifacts);
  }
});

/** Inotify watches held by process `pid`. */
function inotifyWatches(pid: number): number {
  let count = 0;
  for (const fd of Deno.readDirSync(`/proc/${pid}/fdinfo`)) {
    try {
      const info = Deno.readTextFileSync(`/proc/${pid}/fdinfo/${fd.name}`);
      count += info.match(/^inotify wd:/gm)?.length ?? 0;
    } catch {
      // closed meanwhile
    }
  }
  return count;
}

Deno.test("watch never watches, lists or uploads through a link", async () => {
  const { dir, cache, sibling, artifacts } = await setup();
  await using _ = dir;
  const target = join(dir.path, "target");
  const env = { XDG_CACHE_HOME: join(dir.path, "xdg"), DENO_DIR };
  const run = spawnTool(["watch", "--rescan-interval", "1", cache, target], { env });
  try {
    await run.until(/^INFO: \d+ files already present on target$/m);
    assert.ok(await eventually(() => allPresent(target, artifacts)), run.stdout);
    assert.equal(inotifyWatches(run.child.pid), realDirectories(cache), "one per real directory");
    // New files: one in the sibling cache (reachable through links), one in the cache, and a
    // new link in a new directory of the cache.
    const outside = writeLikeBitbake(sibling, 1, "s");
    const inside = writeLikeBitbake(cache, 2, "c");
    await Deno.mkdir(join(cache, "gh"));
    await Deno.symlink(sibling, join(cache, "gh/sibling-late"));
    assert.ok(await eventually(() => allPresent(target, inside)), run.stdout);
    // Rescans (every second) and events have had their chance at the outside files.
    await eventually(() => run.stdout.includes("gh/sibling-late"), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(inotifyWatches(run.child.pid), realDirectories(cache), "none through links");
    assert.deepEqual(await listFiles(target), [...artifacts, ...inside].sort());
    assert.ok(!allPresent(target, outside));
  } finally {
    run.child.kill("SIGTERM");
  }
  const { code, stdout } = await run.finish();
  assert.equal(code, 0, stdout); // a requested stop, everything uploaded
  assert.deepEqual(throughLinks(stdout).filter((l) => !l.includes("symbolic link")), []);
  assertLinksNoted(stdout);
  assert.match(stdout, /skipped 1 symbolic link to a directory in file:\/\/.*: gh\/sibling-late$/m);
});

Deno.test("a watch's rescan does not follow a directory that was replaced by a link", async () => {
  await using dir = await tempDir("isar-sstate-links-");
  const src = join(dir.path, "src");
  const outside = join(dir.path, "outside");
  const name = `sstate:x:arm64-isar:1.0:r0:arm64:10:${"a".repeat(64)}_deploy.tar.zst`;
  for (const root of [src, outside]) {
    await Deno.mkdir(join(root, "ab/cd"), { recursive: true });
    await Deno.writeTextFile(join(root, "ab/cd", name), "x");
  }
  await Deno.writeTextFile(join(outside, "ab/cd", `${name}.siginfo`), "outside");
  // Old enough that a rescan trusts the modification times it recorded.
  const hourAgo = new Date(Date.now() - 3600_000);
  for (const d of ["", "ab", "ab/cd"]) await Deno.utime(join(src, d), hourAgo, hourAgo);
  const source = new SourceTree(new LocalCache(src));
  const first = [...source.walk({ metadata: false })].flatMap((d) => d.files);
  assert.deepEqual(first.map((f) => f.path), [`ab/cd/${name}`]);
  // The recorded directory ab/cd becomes a link to a directory with more files; ab keeps its
  // modification time (whoever made the link set it back), so only ab/cd looks changed.
  await Deno.remove(join(src, "ab/cd"), { recursive: true });
  await Deno.symlink(join(outside, "ab/cd"), join(src, "ab/cd"));
  await Deno.utime(join(src, "ab"), hourAgo, hourAgo);
  const rescanned = [...source.rescan()].flatMap((d) => d.files);
  assert.deepEqual(rescanned, [], "nothing through the link");
});
