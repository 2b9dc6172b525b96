import assert from "node:assert/strict";
import { join } from "node:path";
import { FileBackend } from "../src/backends/file.ts";
import { openBackend } from "../src/backends/factory.ts";
import { backendConformance } from "./backend_conformance.ts";

backendConformance("file://", async () => {
  const parent = await Deno.makeTempDir({ prefix: "isar-sstate-file-" });
  return {
    backend: new FileBackend(`file://${join(parent, "cache")}`),
    [Symbol.asyncDispose]: () => Deno.remove(parent, { recursive: true }),
  };
});

backendConformance("bare path", async () => {
  const parent = await Deno.makeTempDir({ prefix: "isar-sstate-path-" });
  return {
    backend: openBackend(join(parent, "cache")),
    [Symbol.asyncDispose]: () => Deno.remove(parent, { recursive: true }),
  };
});

Deno.test("file backend: displays the location as given, resolves it to an absolute root", () => {
  const b = new FileBackend("file://relative/cache");
  assert.equal(b.displayUrl, "file://relative/cache");
  assert.equal(b.root, join(Deno.cwd(), "relative/cache"));
  assert.equal(new FileBackend("/abs/cache").displayUrl, "file:///abs/cache");
});

Deno.test("file backend: lists symlinked files as links and does not walk linked directories", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "real"));
    await Deno.writeTextFile(join(dir, "real/file"), "12345");
    await Deno.symlink(join(dir, "real/file"), join(dir, "link"));
    await Deno.symlink(join(dir, "real"), join(dir, "linkdir"));
    const entries = [];
    for await (const e of new FileBackend(dir).list()) entries.push(e);
    entries.sort((a, b) => (a.path < b.path ? -1 : 1));
    assert.deepEqual(entries.map((e) => [e.path, e.size, e.isLink]), [
      ["link", 5, true],
      ["real/file", 5, false],
    ]);
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
