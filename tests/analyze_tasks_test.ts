/**
 * `analyze --task` for caches whose tasks are not Isar's: the fixture caches (real bitbake
 * signatures) with their tasks renamed as a Yocto build names its sstate tasks.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { stripAnsi } from "../src/cli/output.ts";
import { loadGolden } from "./golden.ts";
import { fixtureCache, listFiles, runTool, tempDir } from "./helpers.ts";

/** Isar's key tasks → the Yocto sstate tasks they stand for here. */
const YOCTO: Record<string, string> = {
  dpkg_build: "populate_sysroot",
  rootfs_install: "package_write_ipk",
  bootstrap: "package_write_deb",
};

/** A copy of a fixture cache with every key task's files renamed to a Yocto task. */
async function yoctoCopy(name: string, to: string): Promise<void> {
  const from = fixtureCache("head", name);
  for (const f of await listFiles(from)) {
    const renamed = f.replace(
      /_(dpkg_build|rootfs_install|bootstrap)\./,
      (_m, t) => `_${YOCTO[t]}.`,
    );
    await Deno.mkdir(join(to, renamed, ".."), { recursive: true });
    await Deno.copyFile(join(from, f), join(to, renamed));
  }
}

/** The golden analyze-main output with the tasks renamed as in `yoctoCopy`. */
async function renamedGolden(): Promise<string> {
  const golden = await loadGolden("head", "analyze-main");
  return stripAnsi(golden.stdout).replace(
    /:(dpkg_build|rootfs_install|bootstrap) \(/g,
    (_m, t) => `:${YOCTO[t]} (`,
  );
}

/** The `==== checking local item` headers, sorted. */
const headers = (text: string) =>
  text.split("\n").filter((l) => l.startsWith("==== checking")).sort();

Deno.test("analyze --task: Yocto tasks are checked like Isar's key tasks", async () => {
  await using dir = await tempDir();
  const [local, remote] = [join(dir.path, "local"), join(dir.path, "remote")];
  await yoctoCopy("local", local);
  await yoctoCopy("remote", remote);
  const expected = await renamedGolden();
  const r = await runTool([
    "analyze",
    "--task",
    "populate_sysroot",
    "--task",
    "package_write_*",
    local,
    remote,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(headers(r.stdout), headers(expected));
  assert.equal(headers(r.stdout).length, 16);
  // The differences are the reference's, block for block (its remote matches come in listing
  // order, ours sorted).
  const block = (text: string, pn: string) => {
    const lines = text.split("\n");
    const start = lines.findIndex((l) => l.includes(`:${pn}:populate_sysroot (`));
    const end = lines.findIndex((l, i) => i > start && l.startsWith("===="));
    const [intro, ...matches] = lines.slice(start, end).join("\n").split("\n**** ");
    return [intro, ...matches.sort()];
  };
  for (const pn of ["foo-app", "hello", "libfoo"]) {
    assert.deepEqual(block(r.stdout, pn), block(expected, pn), pn);
  }
  // Comma-separated, with do_ prefixes: the same items.
  const comma = await runTool([
    "analyze",
    "--task",
    "do_populate_sysroot,do_package_write_ipk,package_write_deb",
    local,
    remote,
  ]);
  assert.deepEqual(headers(comma.stdout), headers(r.stdout));
  // One task only.
  const one = await runTool(["analyze", "--task", "package_write_deb", local, remote]);
  assert.deepEqual(headers(one.stdout), [
    "==== checking local item amd64:isar-mmdebstrap-host:package_write_deb (5d2bdcd0) ====",
    "==== checking local item arm64:isar-mmdebstrap-target:package_write_deb (391cc23d) ====",
  ]);
});

Deno.test("analyze: without --task, a cache of other tasks is a warning naming its tasks", async () => {
  await using dir = await tempDir();
  const [local, remote] = [join(dir.path, "local"), join(dir.path, "remote")];
  await yoctoCopy("local", local);
  await yoctoCopy("remote", remote);
  const r = await runTool(["analyze", local, remote]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, r.stdout);
  assert.match(
    lines[0],
    /^WARNING: no local signatures of the tasks dpkg_build, rootfs_install, bootstrap in \S+: it has signatures of: .*\bpackage_write_ipk\b.*\bpopulate_sysroot\b.*; name the tasks to check with --task$/,
  );
  const none = await runTool(["analyze", "--task", "package_qa", local, remote]);
  assert.match(none.stdout, /^WARNING: no local signatures of the tasks package_qa in /m);
});

Deno.test("analyze --help says which tasks Isar and Yocto cache", async () => {
  const r = await runTool(["analyze", "--help"]);
  assert.equal(r.code, 0);
  const text = r.stdout.replace(/\s+/g, " ");
  for (
    const task of [
      "dpkg_build",
      "rootfs_install",
      "bootstrap",
      "populate_sysroot",
      "package_write_ipk",
    ]
  ) {
    assert.ok(text.includes(task), task);
  }
  assert.match(text, /--task TASK/);
});
