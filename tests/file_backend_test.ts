import assert from "node:assert/strict";
import { join } from "node:path";
import { FileBackend } from "../src/backends/file/file.ts";
import { absolutePath, FILE_FEATURES } from "../src/backends/file/location.ts";
import { listTree } from "../src/backends/file/tree_lister.ts";
import { openBackend } from "../src/backends/registry.ts";
import { backendConformance } from "./backend_conformance.ts";

backendConformance("file://", FILE_FEATURES, async () => {
  const parent = await Deno.makeTempDir({ prefix: "isar-sstate-file-" });
  return {
    backend: new FileBackend(`file://${join(parent, "cache")}`),
    [Symbol.asyncDispose]: () => Deno.remove(parent, { recursive: true }),
  };
});

backendConformance("file:// (portable placing)", FILE_FEATURES, async () => {
  const parent = await Deno.makeTempDir({ prefix: "isar-sstate-file-" });
  return {
    backend: new FileBackend(join(parent, "cache"), { native: false }),
    [Symbol.asyncDispose]: () => Deno.remove(parent, { recursive: true }),
  };
});

backendConformance("file:// (listings shared with a helper thread)", FILE_FEATURES, async () => {
  const parent = await Deno.makeTempDir({ prefix: "isar-sstate-file-" });
  return {
    backend: new FileBackend(join(parent, "cache"), { listHelperAfterMs: 0 }),
    [Symbol.asyncDispose]: () => Deno.remove(parent, { recursive: true }),
  };
});

backendConformance("bare path", FILE_FEATURES, async () => {
  const parent = await Deno.makeTempDir({ prefix: "isar-sstate-path-" });
  return {
    backend: await openBackend(join(parent, "cache")),
    [Symbol.asyncDispose]: () => Deno.remove(parent, { recursive: true }),
  };
});

Deno.test("file backend: displays the location as given, resolves it to an absolute root", () => {
  const b = new FileBackend("file://relative/cache");
  assert.equal(b.displayUrl, "file://relative/cache");
  assert.equal(b.root, join(Deno.cwd(), "relative/cache"));
  assert.equal(new FileBackend("/abs/cache").displayUrl, "file:///abs/cache");
});

Deno.test("file backend: lists linked files, never follows links to directories, notes them once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cache = join(dir, "cache");
    await Deno.mkdir(join(cache, "real"), { recursive: true });
    await Deno.mkdir(join(dir, "other-disk/cd"), { recursive: true });
    await Deno.writeTextFile(join(cache, "real/file"), "12345");
    await Deno.writeTextFile(join(dir, "other-disk/cd/far"), "123");
    await Deno.symlink(join(cache, "real/file"), join(cache, "link"));
    await Deno.symlink(join(dir, "other-disk"), join(cache, "ab")); // outside the cache
    await Deno.symlink(join(cache, "real"), join(cache, "alias")); // inside the cache
    await Deno.symlink(dir, join(cache, "up")); // above the cache
    await Deno.symlink("/", join(cache, "real/slash")); // the root of everything
    for (const helperAfterMs of [Infinity, 0]) {
      const notes: string[] = [];
      const warnings: string[] = [];
      const entries = [];
      const options = {
        onNote: (m: string) => notes.push(m),
        onWarning: (m: string) => warnings.push(m),
      };
      for await (const batch of listTree(cache, `file://${cache}`, options, helperAfterMs)) {
        entries.push(...batch);
      }
      entries.sort((a, b) => (a.path < b.path ? -1 : 1));
      assert.deepEqual(entries.map((e) => [e.path, e.size, e.isLink ?? false]), [
        ["link", 5, true],
        ["real/file", 5, false],
      ]);
      assert.deepEqual(warnings, []);
      assert.deepEqual(notes, [
        `skipped 4 symbolic links to directories in file://${cache} (links to directories ` +
        `are not followed): ab, alias, real/slash, …`,
      ]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file: a listing shared with a helper thread lists every file once, notes all links", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cache = join(dir, "cache");
    const expected: string[] = [];
    for (let d = 0; d < 6; d++) {
      for (let f = 0; f < 5; f++) {
        const path = `0${d}/a${f % 2}/f${f}`;
        await Deno.mkdir(join(cache, path, ".."), { recursive: true });
        await Deno.writeTextFile(join(cache, path), "x".repeat(f));
        expected.push(path);
      }
    }
    await Deno.writeTextFile(join(cache, "top-file"), "12");
    expected.push("top-file");
    await Deno.mkdir(join(dir, "other-disk/cd"), { recursive: true });
    await Deno.writeTextFile(join(dir, "other-disk/cd/far"), "123");
    // The main thread finds the root's link, the helper (which claims 00 first) hands its link
    // back: one note tells of both.
    await Deno.symlink(join(dir, "other-disk"), join(cache, "00/a0/disk"));
    await Deno.symlink(join(dir, "other-disk"), join(cache, "disk"));
    await Deno.symlink(join(cache, "01"), join(cache, "02/alias"));
    await Deno.mkdir(join(cache, "03/locked"));
    await Deno.chmod(join(cache, "03/locked"), 0);
    const list = async (listHelperAfterMs: number) => {
      const warnings: string[] = [];
      const notes: string[] = [];
      const backend = new FileBackend(cache, { listHelperAfterMs });
      const options = {
        onWarning: (w: string) => warnings.push(w),
        onNote: (n: string) => notes.push(n),
      };
      const entries = (await Array.fromAsync(backend.list(options))).flat();
      return { entries, warnings, notes };
    };
    const shared = await list(0);
    const alone = await list(Infinity);
    const paths = shared.entries.map((e) => e.path).sort();
    assert.deepEqual(paths, expected.sort());
    assert.deepEqual(
      shared.entries.map((e) => [e.path, e.size]).sort(),
      alone.entries.map((e) => [e.path, e.size]).sort(),
      "the same files and sizes as a walk on one thread",
    );
    const note = `skipped 3 symbolic links to directories in file://${cache} (links to ` +
      `directories are not followed): 00/a0/disk, 02/alias, disk`;
    assert.deepEqual(shared.notes, [note]);
    assert.deepEqual(alone.notes, [note]);
    if (Deno.uid() !== 0) {
      assert.deepEqual(shared.warnings, alone.warnings);
      assert.equal(shared.warnings.length, 1, shared.warnings.join("\n"));
    }
  } finally {
    await Deno.chmod(join(dir, "cache/03/locked"), 0o755).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file backend: never writes, deletes or prunes through a symlinked directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cache = join(dir, "cache");
    await Deno.mkdir(join(cache, "ab/real"), { recursive: true });
    await Deno.mkdir(join(dir, "other-disk/cd/empty"), { recursive: true });
    await Deno.writeTextFile(join(dir, "other-disk/cd/only"), "x");
    await Deno.symlink(join(dir, "other-disk"), join(cache, "ab/link"));
    await Deno.symlink(join(dir, "other-disk/cd/only"), join(cache, "ab/real/file-link"));
    const b = new FileBackend(cache);
    await Deno.writeTextFile(join(dir, "new"), "abc");
    await assert.rejects(
      () => b.put("ab/link/cd/new", { file: join(dir, "new"), size: 3 }, { ifAbsent: true }),
      /refusing to write through the symbolic link ab\/link/,
    );
    assert.throws(() => Deno.statSync(join(dir, "other-disk/cd/new")), Deno.errors.NotFound);
    await assert.rejects(
      () => b.delete("ab/link/cd/only"),
      /refusing to delete through the symbolic link ab\/link/,
    );
    assert.equal(await Deno.readTextFile(join(dir, "other-disk/cd/only")), "x");
    await b.delete("ab/real/file-link"); // the link itself, not what it points to
    assert.equal(await Deno.readTextFile(join(dir, "other-disk/cd/only")), "x");
    assert.equal(await b.pruneEmptyDirs(["ab/link/cd/empty", "ab/real"]), 1, "only ab/real");
    assert.ok((await Deno.lstat(join(cache, "ab/link"))).isSymlink, "the link stays");
    assert.ok((await Deno.stat(join(dir, "other-disk/cd/empty"))).isDirectory);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file backend: a target that is a regular file cannot be created", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "file"), "x");
    const b = new FileBackend(join(dir, "file"));
    assert.equal(await b.exists(), false);
    await assert.rejects(() => b.create(), /cannot create/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file backend: local paths are made absolute and normalized", () => {
  assert.equal(absolutePath("/a/b/../c/./d/"), "/a/c/d");
  assert.equal(absolutePath("x/../y"), join(Deno.cwd(), "y"));
  assert.equal(absolutePath("/"), "/");
  assert.equal(absolutePath("/.."), "/");
});

Deno.test("file: a listing with its helper thread, larger than it may run ahead, arrives whole, once", async () => {
  const root = await Deno.makeTempDir();
  try {
    const expected = new Set<string>();
    for (let d = 0; d < 400; d++) {
      const dir = `${(d >> 4).toString(16).padStart(2, "0")}/${(d & 15).toString(16)}`;
      await Deno.mkdir(join(root, dir), { recursive: true });
      for (let f = 0; f < 30; f++) {
        Deno.writeFileSync(join(root, dir, `f${f}`), new Uint8Array(f));
        expected.add(`${dir}/f${f}`);
      }
    }
    const backend = new FileBackend(root);
    const seen: string[] = [];
    const listed = (options = {}) => listTree(root, `file://${root}`, options, 0);
    for await (const batch of listed()) {
      // A slow consumer: the walk waits for it instead of piling up batches.
      await new Promise((r) => setTimeout(r, 5));
      for (const e of batch) {
        seen.push(e.path);
        assert.equal(e.size, Number(e.path.slice(e.path.lastIndexOf("/f") + 2)), e.path);
      }
    }
    assert.equal(seen.length, expected.size, "each file once");
    assert.deepEqual(new Set(seen), expected);
    const inProcess = (await Array.fromAsync(backend.list())).flat().map((e) => e.path);
    assert.deepEqual(seen.toSorted(), inProcess.toSorted(), "the same files as in-process");
    // A consumer that stops early ends the walk (no hang, no thread left behind).
    for await (const _ of listed({ metadata: false })) break;
    const ac = new AbortController();
    let batches = 0;
    await assert.rejects(async () => {
      for await (const _ of listed({ signal: ac.signal })) {
        if (++batches === 1) ac.abort(new DOMException("stop", "AbortError"));
      }
    }, /stop/);
    assert.equal(batches, 1, "no batch after the abort");
    await backend.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("file: a lean listing takes no helper thread, even where one would start at once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const sub of ["00", "01", "02", "03"]) {
      await Deno.mkdir(join(dir, sub));
      await Deno.writeTextFile(join(dir, sub, "f"), sub);
    }
    const batches = async (lean: boolean) => {
      const backend = new FileBackend(dir, { listHelperAfterMs: 0 });
      return (await Array.fromAsync(backend.list({ lean }))).map((b) => b.map((e) => e.path));
    };
    // A helper starting at once claims the first subdirectories and hands over what it walked
    // in batches of its own; the caller's thread alone lists a directory a batch, in order.
    const alone = [["00/f"], ["01/f"], ["02/f"], ["03/f"]];
    assert.notDeepEqual(await batches(false), alone);
    assert.deepEqual(await batches(true), alone);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
