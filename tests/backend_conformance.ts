/**
 * The one conformance suite every backend passes: call `backendConformance` with a factory
 * that opens a fresh, not yet existing cache root on that backend. Checks that need a feature
 * (`directories`, `bulkDelete`) run only where the backend has it; elsewhere they are ignored.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Backend,
  BackendError,
  type CallOptions,
  type Entry,
  type Features,
  isAbortError,
  MAX_BULK_DELETE,
  type PutOptions,
  type PutResult,
  type PutSource,
} from "../src/backends/backend.ts";
import { retrying } from "../src/backends/retry.ts";
import { WrappedBackend } from "./wrapped_backend.ts";

/** A backend under test, at a root that does not exist yet. */
export interface BackendFixture extends AsyncDisposable {
  backend: Backend;
  /**
   * Makes the root exist where the backend's `create()` will not (an S3 bucket is created by
   * its owner, not by this tool); `create()` must then succeed on it.
   */
  createRoot?: () => Promise<void>;
}

/** Every entry of a listing, sorted by path. */
export async function collect(backend: Backend, metadata = true): Promise<Entry[]> {
  const entries: Entry[] = [];
  for await (const batch of backend.list({ metadata })) entries.push(...batch);
  return entries.sort((a, b) => (a.path < b.path ? -1 : 1));
}

async function paths(backend: Backend): Promise<string[]> {
  return (await collect(backend, false)).map((e) => e.path);
}

/** Writes `bytes` to `dir/name` and returns it as a put source. */
export async function localFile(dir: string, name: string, bytes: Uint8Array): Promise<PutSource> {
  const file = join(dir, name);
  await Deno.writeFile(file, bytes);
  return { file, size: bytes.length };
}

/** `size` bytes of a pattern that differs by `seed`. */
export function pattern(size: number, seed = 7): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

/** Polls `check` until it returns true or `ms` pass. */
async function eventually(check: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

const ARTIFACT = "ab/cd/sstate:hello:arm64-isar:2.10:r0:arm64:10:abcd1234_dpkg_build.tar.zst";

/**
 * A backend whose single-file calls fail transiently the first `failures` times for each path,
 * as a flaky network would: what the retry layer must ride out.
 */
class FlakyBackend extends WrappedBackend {
  #failed = new Map<string, number>();
  calls = 0;
  constructor(inner: Backend, readonly failures: number) {
    super(inner);
  }
  #flaky<T>(key: string, fn: () => Promise<T>): Promise<T> {
    this.calls++;
    const n = this.#failed.get(key) ?? 0;
    if (n < this.failures) {
      this.#failed.set(key, n + 1);
      return Promise.reject(new BackendError(`injected fault on ${key}`, "transient"));
    }
    return fn();
  }
  override stat(path: string, o?: CallOptions) {
    return this.#flaky(`stat ${path}`, () => this.inner.stat(path, o));
  }
  override put(path: string, source: PutSource, o?: PutOptions): Promise<PutResult> {
    return this.#flaky(`put ${path}`, () => this.inner.put(path, source, o));
  }
  override read(path: string, o?: CallOptions) {
    return this.#flaky(`read ${path}`, () => this.inner.read(path, o));
  }
  override delete(path: string, o?: CallOptions) {
    return this.#flaky(`delete ${path}`, () => this.inner.delete(path, o));
  }
}

/**
 * Registers the conformance tests for one backend, whose `features` say which apply: those that
 * do not are registered as ignored.
 */
export function backendConformance(
  name: string,
  features: Features,
  open: () => Promise<BackendFixture>,
): void {
  const test = (
    title: string,
    fn: (b: Backend, scratch: string, root: () => Promise<void>) => Promise<void>,
    needs: (f: Features) => boolean = () => true,
  ) =>
    Deno.test({
      name: `${name} backend: ${title}`,
      ignore: !needs(features),
      async fn() {
        await using fixture = await open();
        const scratch = await Deno.makeTempDir({ prefix: "isar-sstate-conf-" });
        const b = fixture.backend;
        const root = async () => {
          await fixture.createRoot?.();
          await b.create();
        };
        try {
          assert.deepEqual(b.features, features, "the features the suite was registered with");
          await fn(b, scratch, root);
        } finally {
          await fixture.backend.close();
          await Deno.remove(scratch, { recursive: true });
        }
      },
    });
  const withDirectories = (f: Features) => f.directories;

  test("a missing root does not exist until created", async (b, _scratch, root) => {
    assert.equal(await b.exists(), false);
    await root();
    assert.equal(await b.exists(), true);
    await b.create(); // idempotent
    assert.deepEqual(await collect(b), []);
  });

  test("put, stat, read and list round-trip nested paths", async (b, scratch, root) => {
    await root();
    const data = pattern(10_000);
    const before = Date.now() - 5_000;
    assert.equal(await b.put(ARTIFACT, await localFile(scratch, "a", data)), "stored");
    await b.put("top-level-file", await localFile(scratch, "b", pattern(3)));
    const stat = await b.stat(ARTIFACT);
    assert.ok(stat);
    assert.equal(stat.size, 10_000);
    assert.ok(stat.mtime >= before && stat.mtime <= Date.now() + 5_000, "mtime is the write time");
    assert.deepEqual(await b.read(ARTIFACT), data);
    const listed = await collect(b);
    assert.deepEqual(listed.map((e) => [e.path, e.size]), [
      [ARTIFACT, 10_000],
      ["top-level-file", 3],
    ]);
    assert.ok(listed.every((e) => e.mtime >= before), "listed times are the write times");
  });

  test("a listing without metadata names every file", async (b, scratch, root) => {
    await root();
    const src = await localFile(scratch, "f", pattern(10));
    await b.put("aa/bb/one", src);
    await b.put("aa/cc/two", src);
    await b.put("three", src);
    assert.deepEqual(await paths(b), ["aa/bb/one", "aa/cc/two", "three"]);
  });

  test(
    "missing files stat and read as null, and delete without error",
    async (b, _scratch, root) => {
      await root();
      assert.equal(await b.stat("no/such/file"), null);
      assert.equal(await b.read("no/such/file"), null);
      await b.delete("no/such/file");
    },
  );

  test("put replaces an existing file completely", async (b, scratch, root) => {
    await root();
    await b.put("x/file", await localFile(scratch, "big", pattern(5000, 1)));
    assert.equal(
      await b.put("x/file", await localFile(scratch, "small", pattern(10, 2))),
      "stored",
    );
    assert.deepEqual(await b.read("x/file"), pattern(10, 2));
  });

  test("a create-only put never replaces an existing file", async (b, scratch, root) => {
    await root();
    await b.put("x/file", await localFile(scratch, "first", pattern(5000, 1)));
    const second = await localFile(scratch, "second", pattern(10, 2));
    assert.equal(await b.put("x/file", second, { ifAbsent: true }), "exists");
    assert.deepEqual(await b.read("x/file"), pattern(5000, 1));
    assert.deepEqual(await paths(b), ["x/file"], "nothing left behind");
    assert.equal(await b.put("x/new", second, { ifAbsent: true }), "stored");
    assert.deepEqual(await b.read("x/new"), pattern(10, 2));
  });

  test(
    "concurrent create-only puts of one path: one stores, the others see it",
    async (b, s, root) => {
      await root();
      const sources = await Promise.all(
        Array.from({ length: 8 }, (_, i) => localFile(s, `v${i}`, pattern(200_000 + i, i))),
      );
      const results = await Promise.all(
        sources.map((src) => b.put(ARTIFACT, src, { ifAbsent: true })),
      );
      assert.equal(results.filter((r) => r === "stored").length, 1, results.join(", "));
      assert.equal(results.filter((r) => r === "exists").length, 7);
      const winner = results.indexOf("stored");
      assert.deepEqual(await b.read(ARTIFACT), pattern(200_000 + winner, winner));
      assert.deepEqual(await paths(b), [ARTIFACT], "no temporary file left behind");
    },
  );

  test("a failed put leaves nothing behind", async (b, scratch, root) => {
    await root();
    const missing = { file: join(scratch, "does-not-exist"), size: 10 };
    await assert.rejects(() => b.put("aa/bb/file", missing), BackendError);
    assert.equal(await b.stat("aa/bb/file"), null);
    assert.deepEqual(await paths(b), []);
  });

  test("a put whose size does not match fails and stores nothing", async (b, scratch, root) => {
    await root();
    const src = await localFile(scratch, "f", pattern(1000));
    await assert.rejects(() => b.put("aa/bb/file", { ...src, size: 1001 }), BackendError);
    await assert.rejects(() => b.put("aa/bb/file", { ...src, size: 999 }), BackendError);
    assert.deepEqual(await paths(b), []);
  });

  test("a put onto a directory fails and leaves nothing behind", async (b, scratch, root) => {
    await root();
    const src = await localFile(scratch, "f", pattern(1000));
    await b.put("aa/bb/file", src);
    await assert.rejects(() => b.put("aa/bb", src), BackendError);
    await assert.rejects(() => b.put("aa/bb", src, { ifAbsent: true }), BackendError);
    assert.deepEqual(await paths(b), ["aa/bb/file"]);
  }, withDirectories);

  test("delete removes only the file", async (b, scratch, root) => {
    await root();
    const src = await localFile(scratch, "f", pattern(100));
    await b.put("aa/bb/one", src);
    await b.put("aa/bb/two", src);
    await b.delete("aa/bb/one");
    assert.deepEqual(await paths(b), ["aa/bb/two"]);
    assert.equal(await b.stat("aa/bb/one"), null);
  });

  test(
    "pruning removes emptied directories once, keeps the others and the root",
    async (b, s, root) => {
      await root();
      const src = await localFile(s, "f", pattern(100));
      for (const p of ["aa/bb/one", "aa/cc/two", "dd/ee/three", "dd/ff/four"]) await b.put(p, src);
      for (const p of ["aa/bb/one", "aa/cc/two", "dd/ee/three"]) await b.delete(p);
      // Deleting alone removes no directory: all four parents (aa/bb, aa/cc, aa, dd/ee) are left.
      const removed = await b.pruneEmptyDirs!(["aa/bb", "aa/cc", "dd/ee", "dd/ff"]);
      assert.equal(removed, 4, "aa/bb, aa/cc, aa and dd/ee");
      assert.deepEqual(await paths(b), ["dd/ff/four"]);
      assert.equal(await b.pruneEmptyDirs!(["aa/bb", "dd/ff"]), 0, "nothing left to prune");
      await b.delete("dd/ff/four");
      assert.equal(await b.pruneEmptyDirs!(["dd/ff"]), 2);
      assert.equal(await b.exists(), true, "the root itself stays");
      await b.put("aa/bb/again", src); // and its parents can be created again
      assert.deepEqual(await paths(b), ["aa/bb/again"]);
    },
    withDirectories,
  );

  test("bulk delete removes many files and reports each", async (b, scratch, root) => {
    await root();
    const src = await localFile(scratch, "f", pattern(10));
    const names = Array.from({ length: 30 }, (_, i) => `${(i % 4).toString(16)}a/f${i}`);
    for (let i = 0; i < names.length; i += 10) {
      await Promise.all(names.slice(i, i + 10).map((n) => b.put(n, src)));
    }
    const doomed = [...names.slice(0, 20), "no/such/file"];
    assert.ok(doomed.length <= MAX_BULK_DELETE);
    const outcomes = await b.deleteMany!(doomed);
    assert.deepEqual(outcomes.map((o) => o.path).sort(), [...doomed].sort());
    assert.ok(outcomes.every((o) => !o.error), JSON.stringify(outcomes.filter((o) => o.error)));
    assert.deepEqual(await paths(b), names.slice(20).sort());
  }, (f) => f.bulkDelete);

  test("paths that escape the root are refused", async (b, scratch, root) => {
    await root();
    const src = await localFile(scratch, "f", pattern(10));
    for (const bad of ["../escape", "a/../../escape", "/etc/passwd", "a//b", "", "./a", "a/."]) {
      await assert.rejects(() => b.put(bad, src), /outside the cache root/, `put ${bad}`);
      await assert.rejects(() => b.read(bad), /outside the cache root/, `read ${bad}`);
      await assert.rejects(() => b.stat(bad), /outside the cache root/, `stat ${bad}`);
      await assert.rejects(() => b.delete(bad), /outside the cache root/, `delete ${bad}`);
    }
    assert.deepEqual(await paths(b), []);
  });

  test("a reader never sees a partially written file", async (b, scratch, root) => {
    await root();
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
        for await (const batch of b.list()) {
          for (const e of batch) {
            if (e.path === ARTIFACT && e.size !== size) sawPartial = `listed size ${e.size}`;
          }
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

  const withLastUse = (f: Features) => f.lastUse;

  test("markUsed moves the last use to now and keeps the content", async (b, scratch, root) => {
    await root();
    const data = pattern(20_000, 5);
    await b.put(ARTIFACT, await localFile(scratch, "a", data));
    const [stored] = await collect(b);
    await new Promise((r) => setTimeout(r, 2_100)); // past a store's one-second clock
    const before = Date.now() - 1_000;
    assert.equal(await b.markUsed!(ARTIFACT), true);
    const [listed] = await collect(b);
    assert.equal(listed.path, ARTIFACT);
    assert.equal(listed.size, data.length);
    const lastUse = Math.max(listed.mtime, listed.lastUsed ?? 0);
    assert.ok(lastUse >= before, `last use ${lastUse} is now (${before})`);
    assert.ok(lastUse > Math.max(stored.mtime, stored.lastUsed ?? 0), "later than before");
    assert.deepEqual(await b.read(ARTIFACT), data);
    assert.deepEqual(await paths(b), [ARTIFACT]);
  }, withLastUse);

  test("markUsed of a missing file resolves false and creates nothing", async (b, _s, root) => {
    await root();
    assert.equal(await b.markUsed!(ARTIFACT), false);
    assert.deepEqual(await paths(b), []);
    await assert.rejects(() => b.markUsed!("../escape"), /outside the cache root/);
  }, withLastUse);

  test(
    "a reader never sees a file partial or missing while it is marked used",
    async (b, scratch, root) => {
      await root();
      const data = pattern(6 * 1024 * 1024, 9);
      await b.put(ARTIFACT, await localFile(scratch, "a", data));
      let done = false;
      let seen = "";
      let polls = 0;
      const poller = (async () => {
        while (!done) {
          polls++;
          const st = await b.stat(ARTIFACT);
          if (st?.size !== data.length) seen ||= `stat: ${st?.size ?? "missing"}`;
          const bytes = await b.read(ARTIFACT);
          if (bytes?.length !== data.length) seen ||= `read: ${bytes?.length ?? "missing"}`;
          await new Promise((r) => setTimeout(r, 0));
        }
      })();
      for (let i = 0; i < 10; i++) assert.equal(await b.markUsed!(ARTIFACT), true);
      done = true;
      await poller;
      assert.equal(seen, "", seen);
      assert.ok(polls > 0);
      assert.deepEqual(await b.read(ARTIFACT), data);
    },
    withLastUse,
  );

  test("an aborted put rejects with the abort and stores nothing", async (b, scratch, root) => {
    await root();
    const size = 64 * 1024 * 1024;
    const src = await localFile(scratch, "large", pattern(size, 5));
    const early = new AbortController();
    early.abort();
    await assert.rejects(() => b.put("aa/early", src, { signal: early.signal }), isAbortError);
    // Aborted while the transfer runs (on a machine busy enough, a put may finish first: then
    // its file must be whole; the abort must not leave anything else).
    const aborted: string[] = [];
    for (const ifAbsent of [false, true, false, true]) {
      const path = `aa/late-${aborted.length}-${ifAbsent}`;
      const late = new AbortController();
      const put = b.put(path, src, { signal: late.signal, ifAbsent });
      setTimeout(() => late.abort(), 5);
      try {
        assert.equal(await put, "stored");
        assert.equal((await b.stat(path))?.size, size, `${path} finished whole`);
        await b.delete(path);
      } catch (err) {
        assert.ok(isAbortError(err), `an abort, not ${err}`);
        aborted.push(path);
      }
    }
    assert.ok(aborted.length > 0, "at least one put was cut short");
    // Work the backend had handed on may finish later, but never produces a file.
    assert.ok(await eventually(async () => (await paths(b)).length === 0), "nothing stored");
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await paths(b), []);
  });

  test("an aborted listing rejects with the abort", async (b, scratch, root) => {
    await root();
    await b.put("aa/one", await localFile(scratch, "f", pattern(10)));
    const ctl = new AbortController();
    ctl.abort();
    await assert.rejects(async () => {
      for await (const _ of b.list({ signal: ctl.signal })) { /* drain */ }
    }, isAbortError);
  });

  test("transient failures are retried until the file lands", async (b, scratch, root) => {
    await root();
    const flaky = new FlakyBackend(b, 2);
    const robust = retrying(flaky, { attempts: 3, baseDelayMs: 1 });
    const src = await localFile(scratch, "f", pattern(1000));
    const names = Array.from({ length: 12 }, (_, i) => `aa/f${i}`);
    await Promise.all(names.map((n) => robust.put(n, src, { ifAbsent: true })));
    assert.deepEqual(await paths(b), names.sort());
    assert.equal(flaky.calls, names.length * 3, "two failures and one success per file");
    assert.deepEqual(await robust.read("aa/f0"), pattern(1000));
    await robust.delete("aa/f0");
    assert.equal(await robust.stat("aa/f0"), null);
    await assert.rejects(
      () => retrying(new FlakyBackend(b, 5), { attempts: 3, baseDelayMs: 1 }).read("aa/f1"),
      /injected fault/,
      "gives up after the attempts",
    );
  }, (f) => !f.retriesInternally);

  test("parallel puts into one directory all land", async (b, scratch, root) => {
    await root();
    const src = await localFile(scratch, "f", pattern(2000));
    const names = Array.from({ length: 40 }, (_, i) => `ab/cd/file-${i}`);
    await Promise.all(names.map((n) => b.put(n, src, { ifAbsent: true })));
    assert.deepEqual(await paths(b), names.sort());
  });

  test("lists a wide tree completely, even for a slow consumer", async (b, scratch, root) => {
    await root();
    const src = await localFile(scratch, "f", pattern(10));
    const names = Array.from({ length: 120 }, (_, i) => {
      const h = (i * 2654435761 >>> 0).toString(16).padStart(8, "0");
      return `${h.slice(0, 2)}/${h.slice(2, 4)}/file-${i}`;
    });
    for (let i = 0; i < names.length; i += 20) {
      await Promise.all(names.slice(i, i + 20).map((n) => b.put(n, src)));
    }
    const seen: string[] = [];
    for await (const batch of b.list()) {
      seen.push(...batch.map((e) => e.path));
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.deepEqual(seen.sort(), [...names].sort());
  });
}
