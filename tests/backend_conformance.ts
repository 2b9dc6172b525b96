/**
 * The one conformance suite every backend passes: call `backendConformance` with a factory
 * that opens a fresh, not yet existing cache root on that backend.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Backend, Entry } from "../src/backends/backend.ts";

/** A backend under test, at a root that does not exist yet. */
export interface BackendFixture extends AsyncDisposable {
  backend: Backend;
}

async function collect(backend: Backend): Promise<Entry[]> {
  const entries: Entry[] = [];
  for await (const e of backend.list()) entries.push(e);
  return entries.sort((a, b) => (a.path < b.path ? -1 : 1));
}

async function localFile(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await Deno.writeFile(path, bytes);
  return path;
}

function pattern(size: number, seed = 7): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

const ARTIFACT = "ab/cd/sstate:hello:arm64-isar:2.10:r0:arm64:10:abcd1234_dpkg_build.tar.zst";

/** Registers the conformance tests for one backend. */
export function backendConformance(name: string, open: () => Promise<BackendFixture>): void {
  const test = (title: string, fn: (b: Backend, scratch: string) => Promise<void>) =>
    Deno.test(`${name} backend: ${title}`, async () => {
      await using fixture = await open();
      const scratch = await Deno.makeTempDir({ prefix: "isar-sstate-conf-" });
      try {
        await fn(fixture.backend, scratch);
      } finally {
        await fixture.backend.close();
        await Deno.remove(scratch, { recursive: true });
      }
    });

  test("a missing root does not exist until created", async (b) => {
    assert.equal(await b.exists(), false);
    await b.create();
    assert.equal(await b.exists(), true);
    await b.create(); // idempotent
    assert.deepEqual(await collect(b), []);
  });

  test("put, stat, read and list round-trip nested paths", async (b, scratch) => {
    await b.create();
    const data = pattern(10_000);
    const before = Date.now() - 5_000;
    await b.put(ARTIFACT, await localFile(scratch, "a", data));
    await b.put("top-level-file", await localFile(scratch, "b", pattern(3)));
    const stat = await b.stat(ARTIFACT);
    assert.ok(stat);
    assert.equal(stat.size, 10_000);
    assert.ok(stat.mtime >= before && stat.mtime <= Date.now() + 5_000, "mtime is the write time");
    assert.deepEqual(await b.read(ARTIFACT), data);
    const listed = await collect(b);
    assert.deepEqual(listed.map((e) => [e.path, e.size]), [[ARTIFACT, 10_000], [
      "top-level-file",
      3,
    ]]);
  });

  test("missing files stat and read as null", async (b) => {
    await b.create();
    assert.equal(await b.stat("no/such/file"), null);
    assert.equal(await b.read("no/such/file"), null);
  });

  test("put replaces an existing file completely", async (b, scratch) => {
    await b.create();
    await b.put("x/file", await localFile(scratch, "big", pattern(5000, 1)));
    await b.put("x/file", await localFile(scratch, "small", pattern(10, 2)));
    assert.deepEqual(await b.read("x/file"), pattern(10, 2));
  });

  test("a failed put leaves nothing behind", async (b, scratch) => {
    await b.create();
    await assert.rejects(() => b.put("aa/bb/file", join(scratch, "does-not-exist")));
    assert.equal(await b.stat("aa/bb/file"), null);
    const left = (await collect(b)).map((e) => e.path);
    assert.deepEqual(left, [], `left behind: ${left.join(", ")}`);
  });

  test("delete removes the file and prunes empty parents, keeping siblings", async (b, scratch) => {
    await b.create();
    const src = await localFile(scratch, "f", pattern(100));
    await b.put("aa/bb/one", src);
    await b.put("aa/bb/two", src);
    await b.put("aa/cc/three", src);
    await b.delete("aa/bb/one");
    assert.deepEqual((await collect(b)).map((e) => e.path), ["aa/bb/two", "aa/cc/three"]);
    await b.delete("aa/bb/two");
    await b.delete("aa/cc/three");
    assert.deepEqual(await collect(b), []);
    assert.equal(await b.exists(), true, "the root itself stays");
    await b.delete("aa/bb/never-existed"); // no error
  });

  test("paths that escape the root are refused", async (b, scratch) => {
    await b.create();
    const src = await localFile(scratch, "f", pattern(10));
    for (const bad of ["../escape", "a/../../escape", "/etc/passwd", "a//b", "", "./a", "a/."]) {
      await assert.rejects(() => b.put(bad, src), /outside the cache root/, `put ${bad}`);
      await assert.rejects(() => b.read(bad), /outside the cache root/, `read ${bad}`);
      await assert.rejects(() => b.stat(bad), /outside the cache root/, `stat ${bad}`);
      await assert.rejects(() => b.delete(bad), /outside the cache root/, `delete ${bad}`);
    }
  });

  test("a reader never sees a partially written file", async (b, scratch) => {
    await b.create();
    const size = 48 * 1024 * 1024;
    const src = await localFile(scratch, "large", pattern(size, 3));
    let done = false;
    let sawPartial = "";
    let polls = 0;
    const poller = (async () => {
      while (!done) {
        polls++;
        const st = await b.stat(ARTIFACT);
        if (st && st.size !== size) sawPartial = `stat size ${st.size}`;
        for await (const e of b.list()) {
          if (e.path === ARTIFACT && e.size !== size) sawPartial = `listed size ${e.size}`;
        }
        await new Promise((r) => setTimeout(r, 0));
      }
    })();
    await b.put(ARTIFACT, src);
    done = true;
    await poller;
    assert.equal(sawPartial, "", sawPartial);
    assert.ok(polls > 0);
    assert.equal((await b.stat(ARTIFACT))?.size, size);
  });

  test("parallel puts into one directory all land", async (b, scratch) => {
    await b.create();
    const src = await localFile(scratch, "f", pattern(2000));
    const names = Array.from({ length: 40 }, (_, i) => `ab/cd/file-${i}`);
    await Promise.all(names.map((n) => b.put(n, src)));
    assert.deepEqual((await collect(b)).map((e) => e.path), names.sort());
  });
  test("lists a wide tree completely, even for a slow consumer", async (b, scratch) => {
    await b.create();
    const src = await localFile(scratch, "f", pattern(10));
    const names = Array.from({ length: 120 }, (_, i) => {
      const h = (i * 2654435761 >>> 0).toString(16).padStart(8, "0");
      return `${h.slice(0, 2)}/${h.slice(2, 4)}/file-${i}`;
    });
    for (let i = 0; i < names.length; i += 20) {
      await Promise.all(names.slice(i, i + 20).map((n) => b.put(n, src)));
    }
    const seen: string[] = [];
    for await (const e of b.list()) {
      seen.push(e.path);
      await new Promise((r) => setTimeout(r, 1));
    }
    assert.deepEqual(seen.sort(), [...names].sort());
  });
}
