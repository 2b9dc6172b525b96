import assert from "node:assert/strict";
import { join } from "node:path";
import { copyTree, emptyDirs, fixtureCache, listFiles, runTool, tempDir } from "./helpers.ts";

const DAY = 86400 * 1000;

/** Sets a file's mtime to `days` ago. */
async function age(path: string, days: number): Promise<void> {
  const t = new Date(Date.now() - days * DAY);
  await Deno.utime(path, t, t);
}

/** A copy of the head remote cache with every file aged `days`. */
async function agedCopy(dir: string, days: number): Promise<string> {
  const target = join(dir, "remote");
  await copyTree(fixtureCache("head", "remote"), target);
  for (const f of await listFiles(target)) await age(join(target, f), days);
  return target;
}

Deno.test("clean: old archives and their siginfo go, young ones stay", async () => {
  await using dir = await tempDir();
  const target = await agedCopy(dir.path, 1);
  const files = await listFiles(target);
  const archives = files.filter((f) => f.endsWith(".tar.zst"));
  const siginfo = files.filter((f) => f.endsWith(".siginfo"));
  // Half of the archives are 10 days old; their siginfo files are young but go with them.
  const old = archives.slice(0, Math.floor(archives.length / 2));
  for (const f of old) await age(join(target, f), 10);
  const r = await runTool(["clean", "--max-age", "5d", "--max-sig-age", "30d", "-v", target]);
  assert.equal(r.code, 0, r.stdout);
  assert.match(
    r.stdout,
    new RegExp(`found ${archives.length} archive files, ${old.length} of which are older than 5d`),
  );
  const oldSigs = siginfo.filter((s) => old.includes(s.replace(/\.siginfo$/, "")));
  assert.match(
    r.stdout,
    new RegExp(
      `found ${siginfo.length} siginfo files, ${oldSigs.length} of which correspond to old archive files or are older than 30d`,
    ),
  );
  const left = await listFiles(target);
  assert.deepEqual(left, files.filter((f) => !old.includes(f) && !oldSigs.includes(f)));
  assert.equal(r.stdout.match(/^\[DELETE\] /gm)?.length, old.length + oldSigs.length);
});

Deno.test("clean: siginfo files older than --max-sig-age go even without an archive", async () => {
  await using dir = await tempDir();
  const target = await agedCopy(dir.path, 0);
  const files = await listFiles(target);
  const lone = files.filter((f) => f.endsWith("_fetch.tar.zst.siginfo"));
  assert.ok(lone.length > 0);
  for (const f of lone) await age(join(target, f), 20);
  const r = await runTool(["clean", "--max-age", "1w", "--max-sig-age", "2w", target]);
  assert.equal(r.code, 0);
  assert.deepEqual(await listFiles(target), files.filter((f) => !lone.includes(f)));
});

Deno.test("clean: --max-sig-age below --max-age is raised to it", async () => {
  await using dir = await tempDir();
  const target = await agedCopy(dir.path, 3);
  const r = await runTool(["clean", "--max-age", "5d", "--max-sig-age", "1d", target]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /of which correspond to old archive files or are older than 5d$/m);
  assert.equal((await listFiles(target)).length, 157, "3-day-old siginfo files stay");
});

Deno.test("clean: --dry-run deletes nothing, --filter limits to recipes, empty dirs are pruned", async () => {
  await using dir = await tempDir();
  const target = await agedCopy(dir.path, 10);
  const before = await listFiles(target);
  const dry = await runTool(["clean", "--dry-run", "--max-age", "1d", target]);
  assert.equal(dry.code, 0);
  assert.equal(dry.stdout.match(/^\[DELETE\] /gm)?.length, 157);
  assert.deepEqual(await listFiles(target), before);

  const r = await runTool(["clean", "--filter", "hello", "--max-age", "1d", target]);
  assert.equal(r.code, 0);
  const left = await listFiles(target);
  assert.ok(left.every((f) => !f.includes("sstate:hello:")));
  assert.equal(left.length, before.filter((f) => !f.includes("sstate:hello:")).length);
  assert.deepEqual(await emptyDirs(target), [], "emptied directories are pruned");
  assert.ok((await Deno.stat(target)).isDirectory, "the root stays");
});

Deno.test("clean: files that are not artifacts are never deleted", async () => {
  await using dir = await tempDir();
  const target = await agedCopy(dir.path, 10);
  const some = (await listFiles(target)).find((f) => f.endsWith(".tar.zst"))!;
  const strangers = [`${some}.Xy7pQ2rT`, "README", `${some.slice(0, 5)}sigtask.abc123`];
  for (const s of strangers) {
    await Deno.writeTextFile(join(target, s), "x");
    await age(join(target, s), 100);
  }
  const r = await runTool(["clean", "--max-age", "1d", target]);
  assert.equal(r.code, 0);
  assert.deepEqual(await listFiles(target), strangers.sort());
});

Deno.test("clean: unitless ages mean days, with the reference's warning", async () => {
  await using dir = await tempDir();
  const target = await agedCopy(dir.path, 3);
  const files = await listFiles(target);
  const archives = files.filter((f) => f.endsWith(".tar.zst"));
  const r = await runTool(["clean", "--max-age", "2", "--max-sig-age", "5", target]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^WARNING: MAX_AGE without unit, assuming 'days'$/m);
  assert.match(r.stdout, /^WARNING: MAX_SIG_AGE without unit, assuming 'days'$/m);
  assert.match(
    r.stdout,
    new RegExp(
      `found ${archives.length} archive files, ${archives.length} of which are older than 2$`,
      "m",
    ),
  );
  const expected = files.filter((f) =>
    !archives.includes(f) && !archives.includes(f.replace(/\.siginfo$/, ""))
  );
  assert.deepEqual(await listFiles(target), expected, "only siginfo files without an archive stay");
});
