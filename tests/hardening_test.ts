/**
 * Faults an operator meets: unreadable directories, killed uploads, empty CI variables, JSON
 * consumers, read-only targets. Each command keeps going where it can, says so once, and leaves
 * nothing behind. Permissions are real (as an ordinary user even when the tests run as root).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { doneFraction } from "../src/cli/progress.ts";
import { copyTree, fixtureCache, listFiles, runTool, tempDir, toolArgv } from "./helpers.ts";

const restricted = { restricted: true };
const local = fixtureCache("head", "local");

/** A copy of the local fixture cache with `lost+found` and one `HH/hh` directory unreadable. */
async function cacheWithLockedDirs(dir: string) {
  const cache = join(dir, "cache");
  await copyTree(local, cache);
  const files = await listFiles(cache);
  const lockedDir = files[0].split("/").slice(0, 2).join("/");
  const hidden = files.filter((f) => f.startsWith(`${lockedDir}/`)).length;
  await Deno.mkdir(join(cache, "lost+found"));
  await Deno.writeTextFile(join(cache, "lost+found", "#1234"), "x");
  for (const d of ["lost+found", lockedDir]) await Deno.chmod(join(cache, d), 0o000);
  const unlock = async () => {
    for (const d of ["lost+found", lockedDir]) await Deno.chmod(join(cache, d), 0o755);
  };
  return { cache, lockedDir, visible: files.length - hidden, total: files.length, unlock };
}

function warningsAbout(stdout: string, dir: string): number {
  return stdout.split("\n").filter((l) => l.startsWith("WARNING: ") && l.includes(dir)).length;
}

Deno.test("unreadable directories are skipped with one warning each, by every command", async () => {
  await using dir = await tempDir();
  const c = await cacheWithLockedDirs(dir.path);
  try {
    const info = await runTool(["info", c.cache], {}, restricted);
    assert.equal(info.code, 0, info.stdout);
    assert.equal(warningsAbout(info.stdout, "lost+found"), 1, info.stdout);
    assert.equal(warningsAbout(info.stdout, c.lockedDir), 1);
    assert.match(info.stdout, new RegExp(`^INFO: found ${c.visible} files `, "m"));
    assert.match(info.stdout, /^WARNING: 2 unreadable directories were skipped$/m);

    const target = join(dir.path, "target");
    const up = await runTool(["upload", c.cache, target], {}, restricted);
    assert.equal(up.code, 0, up.stdout);
    assert.equal(warningsAbout(up.stdout, c.lockedDir), 1);
    assert.match(up.stdout, new RegExp(`^INFO: done: ${c.visible} uploaded .* 0 failed`, "m"));
    assert.match(up.stdout, /^WARNING: skipped 2 unreadable parts of the caches/m);
    assert.equal((await listFiles(target)).length, c.visible);

    // The locked cache as a target: its listing (on a thread of its own) warns once as well.
    const into = await runTool(["upload", target, c.cache], {}, restricted);
    assert.equal(into.code, 0, into.stdout);
    assert.equal(warningsAbout(into.stdout, "lost+found"), 1, into.stdout);
    assert.equal(warningsAbout(into.stdout, c.lockedDir), 1, into.stdout);
    assert.match(into.stdout, new RegExp(`^INFO: ${c.visible} files already present`, "m"));

    const analyze = await runTool(
      ["analyze", c.cache, fixtureCache("head", "remote")],
      {},
      restricted,
    );
    assert.equal(analyze.code, 0, analyze.stdout);
    assert.equal(warningsAbout(analyze.stdout, c.lockedDir), 1);
    assert.match(analyze.stdout, /==== checking local item /);

    const lint = await runTool(["lint", "--exit-code", "0", c.cache], {}, restricted);
    assert.equal(lint.code, 0, lint.stdout);
    assert.equal(warningsAbout(lint.stdout, "lost+found"), 1);

    const clean = await runTool(["clean", "--max-age", "0s", c.cache], {}, restricted);
    assert.equal(clean.code, 0, clean.stdout);
    assert.equal(warningsAbout(clean.stdout, c.lockedDir), 1);
    assert.match(clean.stdout, new RegExp(`^INFO: done: ${c.visible} deleted, 0 failed`, "m"));
  } finally {
    await c.unlock();
  }
  assert.equal((await listFiles(c.cache)).length, c.total - c.visible + 1, "locked ones stay");
});

Deno.test("an unreadable cache root is an error", async () => {
  await using dir = await tempDir();
  const c = await cacheWithLockedDirs(dir.path);
  await c.unlock();
  await Deno.chmod(c.cache, 0o000);
  try {
    for (const args of [["info", c.cache], ["clean", c.cache], ["lint", c.cache]]) {
      const r = await runTool(args, {}, restricted);
      assert.equal(r.code, 1, `${args[0]}: ${r.stdout}`);
      assert.match(r.stdout, /^ERROR: cannot (access|list) file:\/\/.*: Permission denied/m);
    }
  } finally {
    await Deno.chmod(c.cache, 0o755);
  }
});

Deno.test("a cache behind an unsearchable directory is an error, not an empty cache", async () => {
  await using dir = await tempDir();
  const c = await cacheWithLockedDirs(dir.path);
  await c.unlock();
  const parent = join(dir.path, "locked");
  await Deno.mkdir(parent);
  const hidden = join(parent, "cache");
  await Deno.rename(c.cache, hidden);
  await Deno.chmod(parent, 0o000);
  try {
    for (const args of [["info", hidden], ["clean", hidden]]) {
      const r = await runTool(args, {}, restricted);
      assert.equal(r.code, 1, `${args[0]}: ${r.stdout}`);
      assert.match(r.stdout, /^ERROR: cannot access file:\/\/.*locked\/cache: Permission denied/m);
      assert.doesNotMatch(r.stdout, /Nothing to clean|does not exist/);
    }
  } finally {
    await Deno.chmod(parent, 0o755);
  }
});

Deno.test("kill -9 during an upload leaves only complete files; the next upload completes", async () => {
  await using dir = await tempDir();
  const src = join(dir.path, "src");
  const size = 96 * 1024 * 1024;
  const big = new Uint8Array(size).map((_, i) => i & 0xff);
  const names: string[] = [];
  for (let i = 0; i < 6; i++) {
    const hash = `${i}${"e".repeat(63)}`;
    const name =
      `${hash.slice(0, 2)}/${hash.slice(2, 4)}/sstate:big${i}:arm64-isar:1:r0:arm64:10:` +
      `${hash}_dpkg_build.tar.zst`;
    await Deno.mkdir(join(src, name, ".."), { recursive: true });
    await Deno.writeFile(join(src, name), big);
    names.push(name);
  }
  const target = join(dir.path, "target");
  const argv = toolArgv(["upload", "-j", "2", src, target]);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "null",
    stderr: "null",
  }).spawn();
  // Kill it while the copies are running: once the first archive has landed.
  for (let i = 0; i < 4000 && (await listFiles(target).catch(() => [])).length === 0; i++) {
    await new Promise((r) => setTimeout(r, 2));
  }
  child.kill("SIGKILL");
  await child.status;
  const left = await listFiles(target);
  assert.ok(left.length < names.length, "killed before the end");
  for (const f of left) {
    assert.ok(names.includes(f), `only final names, no temporary file: ${f}`);
    assert.equal((await Deno.stat(join(target, f))).size, size, `${f} is complete`);
  }
  const again = await runTool(["upload", src, target]);
  assert.equal(again.code, 0, again.stdout);
  assert.match(again.stdout, new RegExp(`^INFO: ${left.length} files already present`, "m"));
  assert.deepEqual(await listFiles(target), [...names].sort());
});

Deno.test("temporary files a killed upload left: info counts them, the next upload removes them", async () => {
  // Where files cannot be created unnamed (NFS), puts write named temporary files; a killed
  // process leaves them behind. One of this host whose process is gone is an orphan.
  await using dir = await tempDir();
  const target = join(dir.path, "target");
  await copyTree(fixtureCache("head", "remote"), target);
  const some = (await listFiles(target))[0];
  const slash = some.lastIndexOf("/");
  const temp = (host: string) =>
    `${some.slice(0, slash)}/.${some.slice(slash + 1)}.isar-sstate.${host}.4194999.1.tmp`;
  const [orphan, foreign] = [temp(Deno.hostname()), temp("other-host")];
  for (const t of [orphan, foreign]) await Deno.writeTextFile(join(target, t), "partial");
  const info = await runTool(["info", target]);
  assert.match(info.stdout, /^INFO: found 2 temporary files \(14 B\) left by killed uploads/m);
  const up = await runTool(["upload", local, target]);
  assert.equal(up.code, 0, up.stdout);
  assert.match(
    up.stdout,
    /^INFO: removed 1 temporary files left on the target by killed uploads$/m,
  );
  const left = await listFiles(target);
  assert.ok(!left.includes(orphan) && left.includes(foreign), "another host's stays (for clean)");
});

Deno.test("clean removes temporary files of killed uploads once they are an hour old", async () => {
  await using dir = await tempDir();
  const target = join(dir.path, "target");
  await copyTree(fixtureCache("head", "remote"), target);
  const some = (await listFiles(target))[0];
  const slash = some.lastIndexOf("/");
  const temp = (host: string, pid: number) =>
    `${some.slice(0, slash)}/.${some.slice(slash + 1)}.isar-sstate.${host}.${pid}.1.tmp`;
  const [old, young] = [temp("build-7", 4242), temp("build-8", 4343)];
  for (const t of [old, young]) await Deno.writeTextFile(join(target, t), "partial");
  const twoHours = new Date(Date.now() - 2 * 3600_000);
  await Deno.utime(join(target, old), twoHours, twoHours);
  const r = await runTool(["clean", "--max-age", "30d", target]);
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, /^INFO: found 1 temporary files left by killed uploads$/m);
  const left = await listFiles(target);
  assert.ok(!left.includes(old) && left.includes(young), "only the old one goes");
});

Deno.test("empty --arch and --filter (an unset CI variable) select everything", async () => {
  await using dir = await tempDir();
  const target = join(dir.path, "target");
  const r = await runTool(["upload", "--arch", "", "--filter=", local, target]);
  assert.equal(r.code, 0, r.stdout);
  assert.equal((await listFiles(target)).length, (await listFiles(local)).length);
});

Deno.test("--json: errors are a JSON object on stdout and a line on stderr", async () => {
  await using dir = await tempDir();
  const cases = [
    { args: ["info", "--json", "--filter", "(", dir.path], error: /invalid --filter regex/ },
    { args: ["analyze", "--json", join(dir.path, "nope"), dir.path], error: /does not exist/ },
    { args: ["lint", "--json", "--exit-code", "300", dir.path], error: /--exit-code must be/ },
    { args: ["info", "--json", "ftp://user:secret@host/x"], error: /unknown URL scheme/ },
  ];
  for (const c of cases) {
    const r = await runTool(c.args);
    assert.equal(r.code, 1, c.args.join(" "));
    const json = JSON.parse(r.stdout);
    assert.match(json.error, c.error);
    assert.equal(json.exit, 1);
    assert.match(r.stderr, /^ERROR: /m);
    assert.doesNotMatch(r.stdout + r.stderr, /secret/);
  }
  const info = await runTool(["info", "--json", local]);
  assert.equal(JSON.parse(info.stdout).files, (await listFiles(local)).length, "stdout is JSON");
});

Deno.test("errors say what failed once: unreadable source file, read-only target", async () => {
  await using dir = await tempDir();
  const src = join(dir.path, "src");
  await copyTree(local, src);
  const files = await listFiles(src);
  const locked = files.find((f) => f.endsWith(".tar.zst"))!;
  await Deno.chmod(join(src, locked), 0o000);
  const target = join(dir.path, "target");
  const up = await runTool(["upload", src, target], {}, restricted);
  assert.equal(up.code, 1);
  const errors = up.stdout.split("\n").filter((l) => l.startsWith("ERROR:"));
  assert.equal(errors.length, 1, up.stdout);
  assert.match(errors[0], /^ERROR: upload of (.*) failed: cannot read source file \S+: Permission/);
  assert.equal(errors[0].split(locked).length - 1, 2, "the path twice: relative, then absolute");
  assert.equal((await listFiles(target)).length, files.length - 1);

  const readOnly = join(dir.path, "read-only");
  await Deno.mkdir(readOnly);
  await Deno.chmod(readOnly, 0o555);
  const ro = await runTool(["upload", local, readOnly], {}, restricted);
  assert.equal(ro.code, 1);
  const roErrors = ro.stdout.split("\n").filter((l) => l.startsWith("ERROR:"));
  assert.deepEqual(roErrors.length, 1, ro.stdout);
  assert.match(
    roErrors[0],
    /^ERROR: cannot write to file:\/\/.*read-only: Permission denied.*; stopping the upload$/,
  );
  assert.match(ro.stdout, /^INFO: done: 0 uploaded/m);
  await Deno.chmod(readOnly, 0o755);
  assert.deepEqual(await listFiles(readOnly), [], "nothing half-written");

  // A directory whose files cannot be deleted: one line per file, naming it once.
  const doomed = join(dir.path, "doomed");
  await copyTree(local, doomed);
  const stuck = (await listFiles(doomed))[0].split("/").slice(0, 2).join("/");
  await Deno.chmod(join(doomed, stuck), 0o555);
  const clean = await runTool(["clean", "--max-age", "0s", doomed], {}, restricted);
  await Deno.chmod(join(doomed, stuck), 0o755);
  assert.equal(clean.code, 1);
  const cleanErrors = clean.stdout.split("\n").filter((l) => l.startsWith("ERROR:"));
  assert.ok(cleanErrors.length > 0);
  for (const line of cleanErrors) {
    const path = /^ERROR: cannot delete (\S+): Permission denied/.exec(line)?.[1];
    assert.ok(path, line);
    assert.equal(line.split(path).length - 1, 1, `the path once: ${line}`);
  }
  assert.match(clean.stdout, new RegExp(`, ${cleanErrors.length} failed, freed`));
});

Deno.test("help: each command lists its own options, in its own words", async () => {
  const info = await runTool(["info", "--help"]);
  // Other commands' options are not listed (prose may name them: "clean --max-age").
  assert.doesNotMatch(info.stdout, /\[UPLOAD\]|^ +(--dry-run|--max-age)\b/m);
  assert.match(info.stdout, /-v, --verbose +also list the archs/);
  const upload = await runTool(["upload", "--help"]);
  assert.match(upload.stdout, /-v, --verbose +print \[EXISTS\]/);
  assert.doesNotMatch(upload.stdout, /^ +(--max-age|--sources-dir)\b/m);
  const clean = await runTool(["clean", "--help"]);
  assert.match(clean.stdout, /\[DELETE\]/);
});

Deno.test("progress: the share done counts files and bytes alike", () => {
  // All small siginfo files done, no archive yet: half the files, almost none of the bytes.
  assert.equal(doneFraction(50, 100, 1_000, 1_000_000_000).toFixed(2), "0.25");
  assert.equal(doneFraction(100, 100, 1_000_000_000, 1_000_000_000), 1);
  assert.equal(doneFraction(3, 10, 0, 0), 0.3, "without byte totals: files alone");
});

/** A small tmpfs mounted at `dir` (root only); undefined where mounting is not allowed. */
async function smallFilesystem(
  dir: string,
  size: string,
): Promise<(() => Promise<void>) | undefined> {
  await Deno.mkdir(dir, { recursive: true });
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir],
    stderr: "null",
  }).output().catch(() => null);
  if (!mount?.success) return undefined;
  return async () => {
    await new Deno.Command("umount", { args: [dir] }).output();
  };
}

/** Whether this process may mount a tmpfs (root with the capability; not in every container). */
const canMount = Deno.uid() === 0 && await (async () => {
  const probe = await Deno.makeTempDir();
  const unmount = await smallFilesystem(probe, "16k");
  await unmount?.();
  await Deno.remove(probe).catch(() => {}); // still mounted: a leftover in /tmp, no failure
  return unmount !== undefined;
})();

Deno.test({
  name: "a full or read-only target stops the upload with one line; what landed is whole",
  ignore: !canMount,
  async fn() {
    await using dir = await tempDir();
    const src = join(dir.path, "src");
    await copyTree(local, src);
    const sizes = new Map<string, number>();
    for (const f of await listFiles(src)) sizes.set(f, (await Deno.stat(join(src, f))).size);
    // Room for a few files only: the local fixture holds ~200 files.
    const target = join(dir.path, "full");
    const unmount = (await smallFilesystem(target, "64k"))!;
    try {
      const up = await runTool(["upload", src, target]);
      assert.equal(up.code, 1, up.stdout);
      const errors = up.stdout.split("\n").filter((l) => l.startsWith("ERROR:"));
      assert.equal(errors.length, 1, up.stdout);
      assert.match(
        errors[0],
        /^ERROR: cannot write to file:\/\/.*full: No space left on device.*; stopping the upload$/,
      );
      assert.match(up.stdout, /^WARNING: \d+ files were not uploaded: the upload was stopped$/m);
      const landed = await listFiles(target);
      assert.ok(landed.length > 0 && landed.length < sizes.size, `${landed.length} landed`);
      for (const f of landed) {
        assert.equal((await Deno.stat(join(target, f))).size, sizes.get(f), `${f} is whole`);
      }

      // The same target made read-only: one line again, nothing changes.
      await new Deno.Command("mount", { args: ["-o", "remount,ro", target] }).output();
      const ro = await runTool(["upload", src, target]);
      assert.equal(ro.code, 1, ro.stdout);
      const roErrors = ro.stdout.split("\n").filter((l) => l.startsWith("ERROR:"));
      assert.equal(roErrors.length, 1, ro.stdout);
      assert.match(roErrors[0], /^ERROR: cannot write to file:\/\/.*full: Read-only file system/);
      assert.deepEqual(await listFiles(target), landed, "nothing changed on a read-only target");
    } finally {
      await unmount();
    }
  },
});
