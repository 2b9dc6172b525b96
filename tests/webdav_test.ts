/**
 * WebDAV backend behaviour beyond the conformance suite, against a real Apache mod_dav (and, for
 * what Apache never does, a stub server or a fault-injecting proxy in front of Apache). Two real
 * upload processes racing are in webdav_cli_test.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { BackendError, type Entry, isAbortError } from "../src/backends/backend.ts";
import { retrying } from "../src/backends/retry.ts";
import { openWebDav, WebDavBackend } from "../src/backends/webdav/webdav.ts";
import { BUFFER_LIMIT } from "../src/backends/webdav/body.ts";
import { collect, localFile, pattern } from "./backend_conformance.ts";
import { accessLogLines, startApache } from "./servers/apache.ts";
import { type Fault, type RequestHead, startFaultProxy } from "./servers/request_fault_proxy.ts";

const apache = await startApache();
const auth = { user: "builder", password: "pw-not-to-be-shown" };
const guarded = await startApache({ auth });
const infinite = await startApache({ depthInfinity: true });

let counter = 0;
/** A fresh, not yet existing cache URL on `server`. */
const freshUrl = (server = apache) => `${server.url}t${++counter}/`;
/** The server's directory of a cache URL. */
const dirOf = (url: string, server = apache) => join(server.dir, url.slice(server.url.length));

async function scratchDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "isar-sstate-webdav-test-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** Files below `dir` on disk, relative, sorted (hidden ones included). */
async function filesOnDisk(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(dir, rel))) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await filesOnDisk(dir, path));
    else out.push(path);
  }
  return out.sort();
}

/** The requests a server logged while `fn` ran, as `METHOD path status`. */
async function requestsDuring(server: typeof apache, fn: () => Promise<unknown>) {
  const before = (await accessLogLines(server)).length;
  await fn();
  return await accessLogLines(server, before);
}

Deno.test("webdav: one Depth: infinity PROPFIND where the server allows it", async () => {
  await using scratch = await scratchDir();
  const b = new WebDavBackend(freshUrl(infinite));
  await b.create();
  const src = await localFile(scratch.path, "f", pattern(100));
  for (const p of ["aa/bb/one", "aa/cc/two", "dd/ee/three", "top"]) await b.put(p, src);
  let listed: Entry[] = [];
  const requests = await requestsDuring(infinite, async () => (listed = await collect(b)));
  assert.deepEqual(listed.map((e) => [e.path, e.size]), [
    ["aa/bb/one", 100],
    ["aa/cc/two", 100],
    ["dd/ee/three", 100],
    ["top", 100],
  ]);
  assert.deepEqual(requests.map((r) => r.split(" ")[0] + " " + r.split(" ")[2]), ["PROPFIND 207"]);
});

Deno.test("webdav: refused Depth: infinity falls back to a walk, tried once per backend", async () => {
  await using scratch = await scratchDir();
  const b = new WebDavBackend(freshUrl());
  await b.create();
  const src = await localFile(scratch.path, "f", pattern(100));
  for (const p of ["aa/bb/one", "aa/cc/two", "dd/ee/three", "top"]) await b.put(p, src);
  let first: string[] = [];
  const r1 = await requestsDuring(apache, async () => {
    first = (await collect(b)).map((e) => e.path);
  });
  assert.deepEqual(first, ["aa/bb/one", "aa/cc/two", "dd/ee/three", "top"]);
  const statuses = (rs: string[]) => rs.map((r) => r.split(" ")[2]).sort();
  // The refused attempt, then the root and its five collections (aa, aa/bb, aa/cc, dd, dd/ee).
  assert.deepEqual(statuses(r1), ["207", "207", "207", "207", "207", "207", "403"]);
  const r2 = await requestsDuring(apache, () => collect(b));
  assert.deepEqual(statuses(r2), ["207", "207", "207", "207", "207", "207"]);
});

Deno.test("webdav: odd hrefs are mapped to cache paths; those outside are warned about", async () => {
  const body = (port: number) =>
    `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">` +
    [
      ["/sstate", true], // the root, without its slash
      [`http://127.0.0.1:${port}/sstate/aa/abs`, false], // absolute URL
      ["bb/rel", false], // relative to the request
      ["/sstate/cc/sstate%3Ax%20y%25z", false], // percent-encoded
      ["/sstate/cc", true], // a collection without its slash
      ["/sstate/cc/.davfs.tmp8a7b6c", false], // Apache's temporary file
      ["/other/elsewhere", false], // beside the root
      ["/sstate/../etc/passwd", false], // climbing out
      ["/sstate/%2E%2E/up", false], // climbing out, encoded
      ["/sstate/a%2Fb", false], // a slash inside a name
      ["http://example.com/sstate/foreign", false], // another host
    ].map(([href, dir]) =>
      `<d:response><d:href>${href}</d:href><d:propstat><d:prop>` +
      (dir ? "<d:resourcetype><d:collection/></d:resourcetype>" : "<d:resourcetype/>") +
      "<d:getcontentlength>5</d:getcontentlength>" +
      "<d:getlastmodified>Mon, 02 Nov 2026 10:00:00 GMT</d:getlastmodified>" +
      "</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
    ).join("") + "</d:multistatus>";
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req): Response =>
      req.method === "PROPFIND"
        ? new Response(body(server.addr.port), { status: 207 })
        : new Response(null, { status: 405 }),
  );
  try {
    const b = new WebDavBackend(`http://127.0.0.1:${server.addr.port}/sstate/`);
    const warnings: string[] = [];
    const entries: Entry[] = [];
    for await (const batch of b.list({ onWarning: (w) => warnings.push(w) })) {
      entries.push(...batch);
    }
    assert.deepEqual(entries.map((e) => [e.path, e.size, e.mtime]).sort(), [
      ["aa/abs", 5, Date.UTC(2026, 10, 2, 10)],
      ["bb/rel", 5, Date.UTC(2026, 10, 2, 10)],
      ["cc/sstate:x y%z", 5, Date.UTC(2026, 10, 2, 10)],
    ]);
    assert.equal(warnings.length, 5, warnings.join("\n"));
    for (const w of warnings) assert.match(w, /lies outside http:\/\/127\.0\.0\.1:\d+\/sstate\//);
  } finally {
    await server.shutdown();
  }
});

Deno.test("webdav: a new collection is created once; uploads into listed ones are one PUT each", async () => {
  await using scratch = await scratchDir();
  const url = freshUrl();
  const b = new WebDavBackend(url);
  await b.create();
  const src = await localFile(scratch.path, "f", pattern(300));
  const requests = await requestsDuring(apache, async () => {
    await b.put("aa/bb/one", src, { ifAbsent: true });
    await b.put("aa/bb/two", src, { ifAbsent: true });
    await b.put("aa/cc/three", src, { ifAbsent: true });
  });
  const rel = (r: string) => r.replace(new URL(url).pathname, "");
  // The root was just created, so the backend knows that no collection exists yet.
  assert.deepEqual(requests.map(rel), [
    "MKCOL aa/ 201",
    "MKCOL aa/bb/ 201",
    "PUT aa/bb/one 201",
    "PUT aa/bb/two 201",
    "MKCOL aa/cc/ 201",
    "PUT aa/cc/three 201",
  ]);
  // Not knowing the tree, another backend learns of a missing parent from the 409.
  const unaware = new WebDavBackend(url);
  const third = await requestsDuring(apache, () => unaware.put("xx/yy/f", src));
  assert.deepEqual(third.map(rel), [
    "MKCOL xx/yy/ 409",
    "MKCOL xx/ 201",
    "MKCOL xx/yy/ 201",
    "PUT xx/yy/f 201",
  ]);
  // Another run: the listing tells which collections exist, so each new file is one request.
  const again = new WebDavBackend(url);
  await collect(again);
  const second = await requestsDuring(apache, async () => {
    await Promise.all(["aa/bb/four", "aa/cc/five", "aa/bb/six"].map((p) => again.put(p, src)));
    assert.equal(await again.put("aa/bb/one", src, { ifAbsent: true }), "exists");
  });
  assert.deepEqual(
    second.map(rel).sort(),
    [
      "PROPFIND aa/bb/one 207", // a 412 is checked for a collection in the way: only then
      "PUT aa/bb/five 201".replace("bb/five", "cc/five"),
      "PUT aa/bb/four 201",
      "PUT aa/bb/one 412",
      "PUT aa/bb/six 201",
    ].sort(),
  );
});

Deno.test("webdav: a collection removed behind the backend's back is created again", async () => {
  await using scratch = await scratchDir();
  const url = freshUrl();
  const b = new WebDavBackend(url);
  await b.create();
  const src = await localFile(scratch.path, "f", pattern(50));
  await b.put("aa/bb/one", src);
  const res = await fetch(`${url}aa/`, { method: "DELETE" });
  await res.body?.cancel();
  assert.equal(res.status, 204);
  assert.equal(await b.put("aa/bb/two", src, { ifAbsent: true }), "stored");
  assert.deepEqual((await collect(b)).map((e) => e.path), ["aa/bb/two"]);
});

Deno.test("webdav: delete never removes a collection", async () => {
  await using scratch = await scratchDir();
  const b = new WebDavBackend(freshUrl());
  await b.create();
  await b.put("aa/bb/one", await localFile(scratch.path, "f", pattern(50)));
  await assert.rejects(() => b.delete("aa/bb"), /it is a collection/);
  await assert.rejects(() => b.delete("aa"), /it is a collection/);
  assert.deepEqual((await collect(b)).map((e) => e.path), ["aa/bb/one"]);
});

Deno.test("webdav: bad credentials are one target error that never shows the password", async () => {
  await using scratch = await scratchDir();
  const src = await localFile(scratch.path, "f", pattern(50));
  const at = guarded.url.replace("http://", `http://${auth.user}:wrong-password@`);
  const wrong = await openWebDav(at);
  assert.equal(wrong.displayUrl, guarded.url.replace("http://", `http://${auth.user}:***@`));
  for (const call of [() => wrong.exists(), () => wrong.put("aa/f", src), () => collect(wrong)]) {
    const err = await call().then(() => null, (e) => e);
    assert.ok(err instanceof BackendError, String(err));
    assert.equal(err.scope, "target");
    assert.match(err.message, /^authentication failed for http:\/\/builder:\*\*\*@127\.0\.0\.1/);
    assert.ok(!err.message.includes("wrong-password"));
  }
  const anonymous = new WebDavBackend(guarded.url);
  await assert.rejects(() => anonymous.exists(), /no credentials given: .*~\/\.netrc/);
  const right = await openWebDav(
    guarded.url.replace("http://", `http://${auth.user}:${auth.password}@`),
  );
  assert.equal(await right.exists(), true);
});

Deno.test("webdav: credentials from netrc and from the environment reach the server", async () => {
  await using scratch = await scratchDir();
  const netrc = join(scratch.path, "netrc");
  await Deno.writeTextFile(
    netrc,
    `machine 127.0.0.1 login ${auth.user} password ${auth.password}\n`,
  );
  const saved = ["NETRC", "ISAR_SSTATE_WEBDAV_USER", "ISAR_SSTATE_WEBDAV_PASSWORD"].map((k) =>
    [k, Deno.env.get(k)] as const
  );
  try {
    Deno.env.delete("ISAR_SSTATE_WEBDAV_USER");
    Deno.env.delete("ISAR_SSTATE_WEBDAV_PASSWORD");
    Deno.env.set("NETRC", netrc);
    assert.equal(await (await openWebDav(guarded.url)).exists(), true, "netrc");
    Deno.env.set("NETRC", join(scratch.path, "none"));
    Deno.env.set("ISAR_SSTATE_WEBDAV_USER", auth.user);
    Deno.env.set("ISAR_SSTATE_WEBDAV_PASSWORD", auth.password);
    assert.equal(await (await openWebDav(guarded.url)).exists(), true, "environment");
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
});

Deno.test("webdav: an unreachable server is one target error", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const b = new WebDavBackend(`http://u:secret@127.0.0.1:${port}/sstate/`);
  const err = await b.exists().then(() => null, (e) => e);
  assert.ok(err instanceof BackendError);
  assert.equal(err.scope, "target");
  assert.match(
    err.message,
    /^cannot connect to http:\/\/u:\*\*\*@127\.0\.0\.1:\d+\/sstate\/: .*refused/,
  );
  // A streamed PUT fails the same way.
  await using scratch = await scratchDir();
  const large = await localFile(scratch.path, "large", pattern(BUFFER_LIMIT + 1));
  const put = await b.put("f", large).then(() => null, (e) => e);
  assert.ok(put instanceof BackendError, String(put));
  assert.equal(put.scope, "target");
  assert.match(
    put.message,
    /^cannot connect to http:\/\/u:\*\*\*@127\.0\.0\.1:\d+\/sstate\/: Connection refused$/,
  );
});

Deno.test("webdav: a server that stops answering fails after the stall timeout; in every attempt, the target", async () => {
  await using scratch = await scratchDir();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn); // accepts, never answers
  })().catch(() => {});
  try {
    const port = (listener.addr as Deno.NetAddr).port;
    const b = new WebDavBackend(`http://127.0.0.1:${port}/sstate/`, { stallTimeoutMs: 300 });
    const src = await localFile(scratch.path, "f", pattern(50));
    const large = await localFile(scratch.path, "large", pattern(BUFFER_LIMIT + 1));
    // One attempt that stalls is transient; a listing (which retries inside) and the retry layer
    // stop the target when every attempt stalls.
    const retried = retrying(b, { attempts: 2, baseDelayMs: 10 });
    const calls: [() => Promise<unknown>, string][] = [
      [() => b.put("f", src), "transient"],
      [() => b.put("g", large), "transient"],
      [() => b.read("f"), "transient"],
      [() => collect(b), "target"],
      [() => retried.read("f"), "target"],
    ];
    for (const [call, scope] of calls) {
      const err = await call().then(() => null, (e) => e);
      assert.ok(err instanceof BackendError, String(err));
      assert.equal(err.scope, scope, err.message);
      assert.equal(err.code, "ETIMEDOUT");
      assert.match(err.message, /no progress for 0\.3 s/);
      if (scope === "target") assert.match(err.message, /\(\d attempts\)$/);
    }
  } finally {
    listener.close();
    for (const c of held) c.close();
    await accepting;
  }
});

Deno.test("webdav: through dropped connections and 503s every file arrives intact", async () => {
  await using scratch = await scratchDir();
  const url = freshUrl();
  await new WebDavBackend(url).create();
  // Each request's fate by a hash of what it is: first attempts (and a few second attempts of
  // PUTs) fail in every way the proxy knows, later attempts go through. A put may meet up to
  // five faults (two MKCOLs, two PUTs, and the PROPFIND that checks a 412), so it gets eight
  // attempts here. A dropped MKCOL that Apache still carries out races with its retry, which
  // Apache may then refuse with 403.
  const seen = new Map<string, number>();
  const fates: Fault[] = ["503", "drop-before", "drop-mid", "drop-after", "none", "none"];
  await using proxy = startFaultProxy({
    targetPort: apache.port,
    fault(head) {
      const key = `${head.method} ${head.path}`;
      const attempt = seen.get(key) ?? 0;
      seen.set(key, attempt + 1);
      let h = 0;
      for (const c of key) h = (h * 31 + c.charCodeAt(0)) >>> 0;
      if (attempt === 0) return fates[h % fates.length];
      if (attempt === 1 && head.method === "PUT" && h % 7 === 0) return "503";
      return "none";
    },
  });
  const viaProxy = url.replace(`:${apache.port}/`, `:${proxy.port}/`);
  const backend = retrying(new WebDavBackend(viaProxy), { attempts: 8, baseDelayMs: 5 });
  const files = Array.from({ length: 120 }, (_, i) => {
    const h = (i * 2654435761 >>> 0).toString(16).padStart(8, "0");
    // Mostly small archives, and a few large enough to be streamed.
    const size = i % 40 === 7 ? (5 << 20) + i : 1000 + i * 37;
    return { path: `${h.slice(0, 2)}/${h.slice(2, 4)}/sstate:f${i}.tar.zst`, size, seed: i };
  });
  const sources = await Promise.all(
    files.map((f) => localFile(scratch.path, `src${f.seed}`, pattern(f.size, f.seed))),
  );
  let next = 0;
  const results: string[] = [];
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < files.length) {
      const i = next++;
      results.push(await backend.put(files[i].path, sources[i], { ifAbsent: true }));
    }
  }));
  assert.ok(results.every((r) => r === "stored" || r === "exists"));
  for (const fault of ["503", "drop-before", "drop-mid", "drop-after"] as const) {
    assert.ok(proxy.counts[fault] > 0, `no ${fault} injected: ${JSON.stringify(proxy.counts)}`);
  }
  // The listing through the faulty proxy is complete too.
  const listed = await collect(backend);
  assert.deepEqual(listed.map((e) => [e.path, e.size]), files.map((f) => [f.path, f.size]).sort());
  // And on the server's disk: every file whole, no temporary file left.
  const onDisk = dirOf(url);
  assert.deepEqual(await filesOnDisk(onDisk), files.map((f) => f.path).sort());
  for (const f of files) {
    assert.deepEqual(await Deno.readFile(join(onDisk, f.path)), pattern(f.size, f.seed), f.path);
  }
});

Deno.test("webdav: pruning keeps a collection that gets a file after it was seen empty", async () => {
  await using scratch = await scratchDir();
  const url = freshUrl();
  const direct = new WebDavBackend(url);
  await direct.create();
  const src = await localFile(scratch.path, "f", pattern(100));
  for (const p of ["aa/bb/old", "aa/cc/old"]) await direct.put(p, src);
  for (const p of ["aa/bb/old", "aa/cc/old"]) await direct.delete(p);
  // Between the emptiness check of aa/bb and its DELETE, another uploader stores a file there.
  await using proxy = startFaultProxy({
    targetPort: apache.port,
    async beforeForward(head) {
      if (head.method === "DELETE" && head.path.endsWith("/aa/bb/")) {
        assert.equal(await direct.put("aa/bb/new", src), "stored");
      }
    },
  });
  const pruner = new WebDavBackend(url.replace(`:${apache.port}/`, `:${proxy.port}/`));
  assert.equal(await pruner.pruneEmptyDirs(["aa/bb", "aa/cc"]), 1, "only aa/cc");
  assert.deepEqual((await collect(direct)).map((e) => e.path), ["aa/bb/new"]);
  assert.deepEqual(await filesOnDisk(dirOf(url)), ["aa/bb/new"]);
});

Deno.test("webdav: a large file streams, with memory far below its size", async () => {
  await using scratch = await scratchDir();
  const size = 512 << 20;
  const file = join(scratch.path, "large");
  {
    using f = await Deno.open(file, { write: true, create: true });
    const block = pattern(1 << 20, 9);
    for (let i = 0; i < size / block.length; i++) await f.write(block);
  }
  const url = freshUrl();
  const b = new WebDavBackend(url);
  await b.create();
  const base = Deno.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 5);
  try {
    assert.equal(await b.put("aa/large", { file, size }), "stored");
  } finally {
    clearInterval(sampler);
  }
  assert.ok(peak - base < 128 << 20, `memory grew by ${(peak - base) >> 20} MiB`);
  assert.equal((await Deno.stat(join(dirOf(url), "aa/large"))).size, size);
  assert.deepEqual(await Deno.readFile(join(dirOf(url), "aa/large")), await Deno.readFile(file));
});

Deno.test("webdav: a streamed PUT carries the file's size as Content-Length", async () => {
  await using scratch = await scratchDir();
  const url = freshUrl(guarded);
  const heads: RequestHead[] = [];
  await using proxy = startFaultProxy({
    targetPort: guarded.port,
    fault(head) {
      if (head.method === "PUT") heads.push(head);
      return "none";
    },
  });
  const b = new WebDavBackend(url.replace(`:${guarded.port}/`, `:${proxy.port}/`), {
    credentials: auth,
  });
  await b.create();
  // Read whole, streamed, and streamed in whole read chunks (256 KiB).
  const sizes = [BUFFER_LIMIT, BUFFER_LIMIT + 1, 2 * BUFFER_LIMIT];
  for (const [i, size] of sizes.entries()) {
    const src = await localFile(scratch.path, `f${i}`, pattern(size, i));
    assert.equal(await b.put(`aa/f${i}`, src, { ifAbsent: i === 1 }), "stored");
  }
  await b.close();
  assert.deepEqual(heads.map((h) => h.headers.get("content-length")), sizes.map(String));
  for (const h of heads) {
    assert.equal(h.headers.get("transfer-encoding"), undefined, h.path);
    assert.match(h.headers.get("authorization") ?? "", /^Basic /, h.path);
  }
  assert.equal(heads[1].headers.get("if-none-match"), "*");
  for (const [i, size] of sizes.entries()) {
    const stored = join(dirOf(url, guarded), `aa/f${i}`);
    assert.equal((await Deno.stat(stored)).size, size);
    assert.deepEqual(await Deno.readFile(stored), pattern(size, i));
  }
});

Deno.test("webdav: with HTTP_PROXY set, streamed PUTs go through the proxy as well", async () => {
  const url = freshUrl();
  const seen: RequestHead[] = [];
  // Apache serves absolute-form requests as well: the fault proxy passes for a forward proxy.
  await using proxy = startFaultProxy({
    targetPort: apache.port,
    fault(head) {
      seen.push(head);
      return "none";
    },
  });
  const probe = (path: string) => `
    const { WebDavBackend } = await import(${
    JSON.stringify(new URL("../src/backends/webdav/webdav.ts", import.meta.url).href)
  });
    const { BUFFER_LIMIT } = await import(${
    JSON.stringify(new URL("../src/backends/webdav/body.ts", import.meta.url).href)
  });
    const b = new WebDavBackend(${JSON.stringify(url)});
    await b.create();
    const file = Deno.makeTempFileSync();
    Deno.writeFileSync(file, new Uint8Array(BUFFER_LIMIT + 1));
    console.log(await b.put(${JSON.stringify(path)}, { file, size: BUFFER_LIMIT + 1 }));
    await b.close();
    Deno.removeSync(file);`;
  const run = async (path: string, env: Record<string, string>) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", probe(path)],
      clearEnv: true,
      env: { HOME: Deno.env.get("HOME") ?? "/root", PATH: Deno.env.get("PATH") ?? "", ...env },
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(text.trim(), "stored", text);
  };
  const http_proxy = `http://127.0.0.1:${proxy.port}`;
  await run("aa/via-proxy", { HTTP_PROXY: http_proxy });
  const puts = seen.filter((h) => h.method === "PUT");
  assert.deepEqual(puts.map((h) => h.path), [`${url}aa/via-proxy`]);
  // In absolute form to the proxy, with the file's length (not chunked).
  assert.equal(puts[0].headers.get("content-length"), String(BUFFER_LIMIT + 1));
  assert.equal(puts[0].headers.get("transfer-encoding"), undefined);
  // NO_PROXY naming the host: every request goes direct.
  seen.length = 0;
  await run("aa/direct", { HTTP_PROXY: http_proxy, NO_PROXY: "localhost,127.0.0.1" });
  assert.deepEqual(seen, []);
  for (const name of ["aa/via-proxy", "aa/direct"]) {
    assert.equal((await Deno.stat(join(dirOf(url), name))).size, BUFFER_LIMIT + 1);
  }
});

/** Waits until Apache's temporary file of an upload appears in `dir` (on its disk). */
async function uploadStarted(dir: string): Promise<void> {
  for (;;) {
    try {
      for await (const e of Deno.readDir(dir)) if (e.name.startsWith(".davfs.tmp")) return;
    } catch {
      // not created yet
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * A file that changes size while it streams: the upload fails for that file, and nothing of it
 * stays on the server. The size is a multiple of the read size, so for a growing file the last
 * read ends exactly at the expected size: only a check before the last bytes go out tells.
 */
const CHANGES: [string, RegExp, (file: string) => Promise<void>][] = [
  ["shrinks", /shrank/, (file) => Deno.truncate(file, 1 << 20)],
  ["grows", /grew/, async (file) => {
    using f = await Deno.open(file, { append: true });
    await f.write(pattern(1000));
  }],
];
for (const [change, reason, apply] of CHANGES) {
  Deno.test(`webdav: a file that ${change} while it uploads fails and stores nothing`, async () => {
    await using scratch = await scratchDir();
    const src = await localFile(scratch.path, "large", pattern(128 << 20, 4));
    const url = freshUrl();
    const b = new WebDavBackend(url);
    await b.create();
    await b.put("aa/first", await localFile(scratch.path, "small", pattern(10)));
    const outcome = b.put("aa/large", src).then(() => null, (e) => e);
    await uploadStarted(join(dirOf(url), "aa"));
    await apply(src.file);
    const err = await outcome;
    assert.ok(err instanceof BackendError, String(err));
    assert.equal(err.scope, "file");
    assert.match(err.message, reason);
    // Apache removes its temporary file once it notices the broken-off body.
    for (let i = 0; i < 3000 && (await filesOnDisk(dirOf(url))).length > 1; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(await filesOnDisk(dirOf(url)), ["aa/first"]);
  });
}

Deno.test("webdav: an upload aborted halfway leaves no temporary file on the server", async () => {
  await using scratch = await scratchDir();
  const src = await localFile(scratch.path, "large", pattern(128 << 20, 6));
  const url = freshUrl();
  const b = new WebDavBackend(url);
  await b.create();
  await b.put("aa/first", await localFile(scratch.path, "small", pattern(10)));
  const ctl = new AbortController();
  const outcome = b.put("aa/large", src, { signal: ctl.signal, ifAbsent: true })
    .then(() => null, (e) => e);
  await uploadStarted(join(dirOf(url), "aa"));
  ctl.abort();
  assert.ok(isAbortError(await outcome));
  for (let i = 0; i < 3000 && (await filesOnDisk(dirOf(url))).length > 1; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.deepEqual(await filesOnDisk(dirOf(url)), ["aa/first"]);
});

Deno.test("webdav: two backends sharing nothing, racing on one name, leave one whole copy", async () => {
  await using scratch = await scratchDir();
  const url = freshUrl();
  const one = new WebDavBackend(url);
  const two = new WebDavBackend(url);
  await one.create();
  const sources = await Promise.all(
    Array.from({ length: 6 }, (_, i) => localFile(scratch.path, `v${i}`, pattern(300_000 + i, i))),
  );
  const results = await Promise.all(
    sources.map((s, i) => (i % 2 ? one : two).put("aa/same", s, { ifAbsent: true })),
  );
  assert.ok(results.includes("stored"));
  const stored = await Deno.readFile(join(dirOf(url), "aa/same"));
  const match = sources.findIndex((_, i) =>
    stored.length === 300_000 + i && stored.every((x, j) => x === ((j * 31 + i) & 0xff))
  );
  assert.ok(match >= 0, "the file is one of the uploads, whole");
  assert.deepEqual(await filesOnDisk(dirOf(url)), ["aa/same"]);
});

Deno.test("webdav: four backends sharing nothing, creating the same collections at once, all succeed", async () => {
  await using scratch = await scratchDir();
  const url = freshUrl();
  await new WebDavBackend(url).create();
  const src = await localFile(scratch.path, "f", pattern(100));
  // Four backends share nothing, as four CI jobs would; each puts one file into each of the
  // same 40 new collections at once, so their MKCOLs race (Apache answers some with 403). As in
  // a real run, connections Apache drops under this load are retried.
  const backends = Array.from({ length: 4 }, () => retrying(new WebDavBackend(url)));
  const dirs = Array.from({ length: 40 }, (_, i) => `${(i % 4).toString(16)}0/${i}`);
  const results = await Promise.all(
    backends.flatMap((b, k) => dirs.map((d) => b.put(`${d}/file-${k}`, src, { ifAbsent: true }))),
  );
  assert.ok(results.every((r) => r === "stored"));
  assert.equal((await filesOnDisk(dirOf(url))).length, dirs.length * backends.length);
});
