/**
 * isar-sstate's commands end to end against a real Apache mod_dav: upload, re-upload, info,
 * analyze and clean over http (with Basic authentication) and https, the one-line errors for
 * bad credentials, refused access, unreachable servers and untrusted certificates, a full disk
 * refusing one file (507, from a proxy in front of Apache), and two uploads racing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fixtureCache, listFiles, runTool } from "./helpers.ts";
import { accessLogLines, connectionsOpened, startApache } from "./servers/apache.ts";
import { type RequestHead, startFaultProxy } from "./servers/request_fault_proxy.ts";

const auth = { user: "ci", password: "cli-secret" };
const apache = await startApache({ auth });
const withLogin = (url: string) => url.replace("://", `://${auth.user}:${auth.password}@`);
const LOCAL = fixtureCache("head", "local");

let counter = 0;
const fresh = () => `${apache.url}cli-${++counter}/`;
const onDisk = (url: string) => join(apache.dir, url.slice(apache.url.length));

/** `METHOD status` of each request the server logged while `fn` ran, and the connections used. */
async function requestsDuring<T>(fn: () => Promise<T>): Promise<[T, string[], number]> {
  const before = (await accessLogLines(apache)).length;
  const result = await fn();
  const lines = await accessLogLines(apache, before);
  const connections = await connectionsOpened(apache, before);
  return [result, lines.map((l) => `${l.split(" ")[0]} ${l.split(" ")[2]}`), connections];
}

const count = (lines: string[], line: string) => lines.filter((l) => l === line).length;
const errorLines = (text: string) => text.split("\n").filter((l) => l.startsWith("ERROR"));

/** `url` (on Apache) reached through a request fault proxy that answers some requests itself. */
function throughProxy(url: string, answer: (head: RequestHead) => number | undefined) {
  const proxy = startFaultProxy({
    targetPort: apache.port,
    answer(head) {
      const status = answer(head);
      return status ? { status } : undefined;
    },
  });
  return { proxy, url: url.replace(`:${apache.port}/`, `:${proxy.port}/`) };
}

Deno.test("webdav cli: upload stores every artifact with one PUT each; a re-upload sends none", async () => {
  const url = fresh();
  const files = await listFiles(LOCAL);
  const [first, requests, connections] = await requestsDuring(() =>
    runTool(["upload", LOCAL, withLogin(url)])
  );
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.match(first.stdout, new RegExp(`INFO: done: ${files.length} uploaded .* 0 failed`));
  assert.ok(!(first.stdout + first.stderr).includes(auth.password), "the password is not shown");
  assert.match(first.stdout, /uploading .* to http:\/\/ci:\*\*\*@127\.0\.0\.1/);
  assert.deepEqual(await listFiles(onDisk(url)), files);
  for (const f of files) {
    assert.deepEqual(
      await Deno.readFile(join(onDisk(url), f)),
      await Deno.readFile(join(LOCAL, f)),
    );
  }
  // One PUT per file and one MKCOL per collection: the target was created empty, so every
  // collection is known to be missing and created parents first.
  const collections = new Set(files.flatMap((f) => {
    const parts = f.split("/").slice(0, -1);
    return parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  }));
  assert.equal(count(requests, "PUT 201"), files.length);
  assert.equal(requests.filter((r) => r.startsWith("PUT")).length, files.length);
  assert.equal(count(requests, "MKCOL 201"), collections.size + 1, "and the root");
  assert.equal(requests.filter((r) => r.startsWith("MKCOL")).length, collections.size + 1);
  assert.ok(
    requests.every((r) => /^(PUT 201|MKCOL (201|405|409)|PROPFIND (207|403|404))$/.test(r)),
  );
  // Kept-alive connections: about one per request in flight (16), not one per request. A
  // request sent while a finished one's connection is not back in the pool yet opens another,
  // so a few more may show on a busy machine.
  assert.ok(connections >= 1 && connections <= 32, `${connections} connections`);
  assert.ok(connections * 4 < requests.length, `${connections} for ${requests.length} requests`);

  const [again, second] = await requestsDuring(() => runTool(["upload", LOCAL, withLogin(url)]));
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, new RegExp(`INFO: done: 0 uploaded .* ${files.length} present`));
  assert.ok(second.every((r) => r.startsWith("PROPFIND")), second.join(", "));
});

Deno.test("webdav cli: info, analyze and clean work on the uploaded cache", async () => {
  const plainUrl = fresh();
  const url = withLogin(plainUrl);
  assert.equal((await runTool(["upload", LOCAL, url])).code, 0);
  const files = await listFiles(LOCAL);

  const info = await runTool(["info", "--json", url]);
  assert.equal(info.code, 0, info.stderr);
  const json = JSON.parse(info.stdout);
  assert.equal(json.exists, true);
  assert.equal(json.files, files.length);
  let bytes = 0;
  for (const f of files) bytes += (await Deno.stat(join(LOCAL, f))).size;
  assert.equal(json.bytes, bytes);

  const analyze = await runTool(["analyze", "--color", "never", LOCAL, url]);
  assert.equal(analyze.code, 0, analyze.stderr);
  const items = analyze.stdout.match(/^==== checking local item /gm)?.length ?? 0;
  const hits = analyze.stdout.match(/^ -> found hit in remote cache$/gm)?.length ?? 0;
  assert.ok(items > 0);
  assert.equal(hits, items, analyze.stdout);

  const clean = await runTool(["clean", "--max-age", "0s", "--max-sig-age", "0s", url]);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, new RegExp(`INFO: done: ${files.length} deleted, 0 failed`));
  // Every file is gone, and so is every collection that held them; the root stays.
  const left = [...Deno.readDirSync(onDisk(plainUrl))].map((e) => e.name);
  assert.deepEqual(left, []);
  const empty = await runTool(["info", "--json", url]);
  assert.equal(JSON.parse(empty.stdout).files, 0);
});

Deno.test("webdav cli: bad credentials and unreachable servers stop with one line", async () => {
  const wrong = fresh().replace("://", `://${auth.user}:not-it@`);
  for (const args of [["upload", LOCAL, wrong], ["clean", wrong], ["info", wrong]]) {
    const r = await runTool(args);
    assert.equal(r.code, 1, `${args[0]}: ${r.stdout}${r.stderr}`);
    const errors = (r.stdout + r.stderr).split("\n").filter((l) => l.startsWith("ERROR"));
    assert.equal(errors.length, 1, `${args[0]}: ${r.stdout}${r.stderr}`);
    assert.match(
      errors[0],
      /^ERROR: authentication failed for http:\/\/ci:\*\*\*@127\.0\.0\.1:\d+\//,
    );
    assert.ok(!(r.stdout + r.stderr).includes("not-it"));
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closed = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/sstate/`;
  listener.close();
  const r = await runTool(["upload", LOCAL, closed]);
  assert.equal(r.code, 1);
  assert.deepEqual((r.stdout + r.stderr).split("\n").filter((l) => l.startsWith("ERROR")), [
    `ERROR: cannot connect to ${closed}: Connection refused`,
  ]);
});

Deno.test("webdav cli: https with a private CA works with DENO_CERT and only with it", async () => {
  await using tls = await startApache({ tls: true });
  const url = `${tls.url}cache/`;
  const untrusted = await runTool(["upload", LOCAL, url]);
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.stdout + untrusted.stderr, /ERROR: cannot connect to https:.*DENO_CERT/);
  const trusted = await runTool(["upload", LOCAL, url], { DENO_CERT: tls.ca! });
  assert.equal(trusted.code, 0, trusted.stdout + trusted.stderr);
  assert.deepEqual(await listFiles(join(tls.dir, "cache")), await listFiles(LOCAL));
});

Deno.test("webdav cli: a 507 for one file fails that file only; the others upload", async () => {
  const url = fresh();
  const files = await listFiles(LOCAL);
  const victim = files.find((f) => f.endsWith(".tar.zst"))!;
  const victimPath = new URL(url).pathname + victim.split("/").map(encodeURIComponent).join("/");
  let refused = 0;
  const { proxy, url: via } = throughProxy(url, (head) => {
    if (head.method !== "PUT" || head.path !== victimPath || refused > 0) return undefined;
    refused++;
    return 507;
  });
  await using _ = proxy;
  const r = await runTool(["upload", LOCAL, withLogin(via)]);
  assert.equal(refused, 1, "the proxy refused the one PUT");
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const errors = errorLines(r.stdout + r.stderr);
  assert.equal(errors.length, 1, errors.join("\n"));
  const escaped = victim.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  assert.match(errors[0], new RegExp(`^ERROR: upload of ${escaped} failed: .*HTTP 507`));
  assert.match(r.stdout, new RegExp(`done: ${files.length - 1} uploaded .* 1 failed`));
  assert.deepEqual(await listFiles(onDisk(url)), files.filter((f) => f !== victim));
});

Deno.test("webdav cli: a 403 on upload stops the run with one error line", async () => {
  const url = fresh();
  let refused = 0;
  const { proxy, url: via } = throughProxy(url, (head) => {
    if (head.method !== "PUT") return undefined;
    refused++;
    return 403;
  });
  await using _ = proxy;
  const r = await runTool(["upload", LOCAL, withLogin(via)]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  // Up to 16 PUTs are in flight when the first 403 comes back: one line for all of them.
  assert.ok(refused > 1, `several PUTs were refused, not ${refused}`);
  const errors = errorLines(r.stdout + r.stderr);
  assert.equal(errors.length, 1, errors.join("\n"));
  assert.match(errors[0], /^ERROR: access denied to http:\/\/ci:\*\*\*@127\.0\.0\.1:\d+\/.*403/);
  assert.deepEqual(await listFiles(onDisk(url)), []);
});

Deno.test("webdav cli: two upload processes racing on one target both succeed; every file arrives whole", async () => {
  const url = fresh();
  const files = await listFiles(LOCAL);
  const [[a, b], requests] = await requestsDuring(() =>
    Promise.all([
      runTool(["upload", LOCAL, withLogin(url)]),
      runTool(["upload", LOCAL, withLogin(url)]),
    ])
  );
  const done = (r: typeof a) => {
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const m = /done: (\d+) uploaded .*?, (\d+) present/.exec(r.stdout);
    assert.ok(m, r.stdout);
    return [Number(m[1]), Number(m[2])];
  };
  const [storedA, presentA] = done(a);
  const [storedB, presentB] = done(b);
  // Each process accounts for every file: stored by it, or found stored (412 or listed).
  assert.equal(storedA + presentA, files.length);
  assert.equal(storedB + presentB, files.length);
  // Every file was stored at least once. Apache checks If-None-Match when a PUT starts, so two
  // PUTs of one name running at once may both store it (see webdav.ts): each copy is whole.
  assert.ok(storedA + storedB >= files.length);
  assert.ok(count(requests, "PUT 201") >= files.length);
  assert.deepEqual(await listFiles(onDisk(url)), files, "no temporary file is left");
  for (const f of files) {
    assert.deepEqual(
      await Deno.readFile(join(onDisk(url), f)),
      await Deno.readFile(join(LOCAL, f)),
      f,
    );
  }
});

Deno.test("webdav cli: a server that refuses the last-use property is told once; the upload goes on", async () => {
  const url = fresh();
  const files = await listFiles(LOCAL);
  const first = await runTool(["upload", "--refresh-after", "0", LOCAL, withLogin(url)]);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  await using dir = await Deno.makeTempDir().then((path) => ({
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }));
  // A build used every artifact later than an hour after its upload.
  const local = join(dir.path, "local");
  await Deno.mkdir(local);
  for (const f of files) {
    await Deno.mkdir(join(local, f, ".."), { recursive: true });
    await Deno.copyFile(join(LOCAL, f), join(local, f));
    const later = new Date(Date.now() + 7_200_000);
    await Deno.utime(join(local, f), later, later);
  }
  let refused = 0;
  const { proxy, url: via } = throughProxy(url, (head) => {
    if (head.method !== "PROPPATCH") return undefined;
    refused++;
    return 405;
  });
  await using _ = proxy;
  const r = await runTool(["upload", "-j", "1", "--refresh-after", "1h", local, withLogin(via)]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(refused, 1, "one refusal, then no more tries");
  const warnings = (r.stdout + r.stderr).split("\n").filter((l) => l.startsWith("WARNING"));
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(warnings[0], /does not record the last use of files .*HTTP 405.*without refreshes/);
  assert.match(r.stdout, new RegExp(`done: 0 uploaded .*${files.length} present, 0 refreshed`));
});
