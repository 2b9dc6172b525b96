/**
 * The watch's recorded source tree (src/sync/watch/source_tree.ts): rescans read only the
 * directories whose entries changed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalCache } from "../src/cache/local_cache.ts";
import { SourceTree } from "../src/sync/watch/source_tree.ts";
import { tempDir } from "./helpers.ts";
import { archivePath, writeLikeBitbake } from "./watch_helpers.ts";

Deno.test("source tree: rescans read only the directories that changed", async () => {
  await using dir = await tempDir();
  for (let n = 0; n < 30; n++) writeLikeBitbake(dir.path, n, "d");
  const hourAgo = new Date(Date.now() - 3600_000);
  const age = (path: string) => {
    for (const e of Deno.readDirSync(path)) {
      if (e.isDirectory) age(join(path, e.name));
    }
    Deno.utimeSync(path, hourAgo, hourAgo);
  };
  age(dir.path);
  const source = new SourceTree(new LocalCache(dir.path));
  const first = [...source.walk({ metadata: false })];
  assert.equal(source.directoryCount, first.length);
  assert.deepEqual([...source.rescan()].map((d) => d.dir), [], "nothing changed: stats only");

  // A new file in a directory: that directory is read, no other.
  const leaf = archivePath(3, "d").split("/").slice(0, 2).join("/");
  const added = `${leaf}/sstate:extra:arm64-isar:1.0:r0:arm64:10:${"e".repeat(64)}_deploy.tar.zst`;
  await Deno.writeTextFile(join(dir.path, added), "x");
  const changed = [...source.rescan()];
  assert.deepEqual(changed.map((d) => d.dir), [leaf]);
  assert.ok(changed[0].files.some((f) => f.path === added), "the new file is found");

  // A new directory: its parent is read (one level), the new one, and the leaf above again
  // (changed too recently to trust its mtime); nothing else.
  const top = leaf.split("/")[0];
  await Deno.mkdir(join(dir.path, top, "zz"));
  const again = [...source.rescan()].map((d) => d.dir).sort();
  assert.deepEqual(again, [leaf, top, `${top}/zz`].sort());
  assert.equal(source.directoryCount, first.length + 1);
});
