import assert from "node:assert/strict";
import { join } from "node:path";
import { copyTree, fixtureCache, listFiles, runTool, tempDir } from "./helpers.ts";

Deno.test("info --json: counts and bytes per arch, task, suffix and kind", async () => {
  const cache = fixtureCache("head", "remote");
  const r = await runTool(["info", "--json", cache]);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  const files = await listFiles(cache);
  let bytes = 0;
  for (const f of files) bytes += (await Deno.stat(join(cache, f))).size;
  assert.equal(info.target, `file://${cache}`);
  assert.equal(info.exists, true);
  assert.equal(info.files, 157);
  assert.equal(info.bytes, bytes);
  assert.deepEqual(Object.keys(info.archs), ["", "amd64", "arm64"]);
  assert.equal(info.archs.amd64.files, 13, "as info --arch amd64 counts");
  assert.deepEqual(info.kinds.archive.files, files.filter((f) => f.endsWith(".tar.zst")).length);
  assert.deepEqual(info.kinds.siginfo.files, files.filter((f) => f.endsWith(".siginfo")).length);
  assert.equal(info.suffixes["tar.zst.siginfo"].files, 127);
  assert.equal(info.tasks.dpkg_build.files, files.filter((f) => f.includes("_dpkg_build.")).length);
  const sum = (o: Record<string, { files: number }>) =>
    Object.values(o).reduce((s, t) => s + t.files, 0);
  assert.equal(sum(info.archs), 157);
  assert.equal(sum(info.tasks), 157);
});

Deno.test("info --json: oldest and newest file, filters applied", async () => {
  await using dir = await tempDir();
  const cache = join(dir.path, "remote");
  await copyTree(fixtureCache("head", "remote"), cache);
  const files = await listFiles(cache);
  const old = new Date("2025-01-02T03:04:05Z");
  const young = new Date("2026-06-07T08:09:10Z");
  for (const f of files) await Deno.utime(join(cache, f), young, young);
  const hello = files.find((f) => f.includes("sstate:hello:"))!;
  await Deno.utime(join(cache, hello), old, old);
  const all = JSON.parse((await runTool(["info", "--json", cache])).stdout);
  assert.equal(all.oldest, old.toISOString());
  assert.equal(all.newest, young.toISOString());
  const filtered = JSON.parse((await runTool(["info", "--json", "--filter", "foo", cache])).stdout);
  assert.ok(filtered.files > 0 && filtered.files < 157);
  assert.equal(filtered.oldest, young.toISOString(), "hello is filtered out");
});

Deno.test("info --json on a missing target prints JSON, not a warning", async () => {
  await using dir = await tempDir();
  const r = await runTool(["info", "--json", join(dir.path, "nope")]);
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.stdout), {
    version: 1,
    target: `file://${join(dir.path, "nope")}`,
    exists: false,
  });
});

Deno.test("info -q prints only the results", async () => {
  const r = await runTool(["info", "-q", "-v", fixtureCache("head", "remote")]);
  assert.equal(r.code, 0);
  assert.doesNotMatch(r.stdout, /^INFO: /m);
  assert.match(r.stdout, /^Cache entries for deb:$/m);
});

Deno.test("info --last-use and --json: files and bytes by last use, in disjoint spans", async () => {
  await using dir = await tempDir();
  const cache = join(dir.path, "cache");
  await copyTree(fixtureCache("head", "local"), cache);
  const files = (await listFiles(cache)).sort();
  const days = [0.5, 3, 10, 40];
  const spans = [0, 0, 0, 0];
  const bytes = [0, 0, 0, 0];
  for (const [i, f] of files.entries()) {
    const when = new Date(Date.now() - days[i % 4] * 86_400_000);
    await Deno.utime(join(cache, f), when, when);
    spans[i % 4]++;
    bytes[i % 4] += (await Deno.stat(join(cache, f))).size;
  }
  const json = await runTool(["info", "--json", cache]);
  assert.equal(json.code, 0, json.stderr);
  const { lastUse } = JSON.parse(json.stdout);
  assert.deepEqual(lastUse, {
    day: { files: spans[0], bytes: bytes[0] },
    week: { files: spans[1], bytes: bytes[1] },
    fourWeeks: { files: spans[2], bytes: bytes[2] },
    earlier: { files: spans[3], bytes: bytes[3] },
  });
  const text = await runTool(["info", "--last-use", cache]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^INFO: last used within 1 day: ${spans[0]} files `, "m"));
  assert.match(text.stdout, new RegExp(`^INFO: last used 1 day to 1 week ago: ${spans[1]} `, "m"));
  assert.match(text.stdout, new RegExp(`^INFO: last used 1 to 4 weeks ago: ${spans[2]} `, "m"));
  assert.match(text.stdout, new RegExp(`^INFO: last used earlier: ${spans[3]} files `, "m"));
  const plain = await runTool(["info", cache]);
  assert.doesNotMatch(plain.stdout, /last used/, "the reference's lines only, without --last-use");
});
