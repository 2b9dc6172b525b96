/**
 * The shared HTTP transport (src/backends/http/) against real servers: Apache on a port that
 * `fetch` refuses (the WHATWG "bad ports"), and Debian's tinyproxy as HTTP_PROXY / HTTPS_PROXY
 * (absolute-form requests for http, CONNECT tunnels for https; NO_PROXY bypasses it; a dead
 * proxy is one error line; uploads, listings and cleans alike), for WebDAV and for S3 (radosgw)
 * alike.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { collect } from "./backend_conformance.ts";
import { listFiles, runTool, tempDir } from "./helpers.ts";
import { type Apache, haveApache, startApache } from "./servers/apache.ts";
import { dropBucket, newBucket, openS3, s3Server } from "./servers/ceph.ts";
import { type RequestHead, startFaultProxy } from "./servers/request_fault_proxy.ts";
import { freePort, haveTinyproxy, startTinyproxy } from "./servers/tinyproxy.ts";
import { archivePath, writeLikeBitbake } from "./watch_helpers.ts";

/** Ports `fetch` refuses to connect to (from the WHATWG list) that Apache may listen on. */
const BAD_PORTS = [10080, 6000, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 4190, 5060, 2049];
/** More than webdav/body.ts reads whole: this one streams. */
const LARGE = (4 << 20) + 12345;

/** Apache on the first of the bad ports that is free. */
async function apacheOnBadPort(): Promise<Apache> {
  for (const port of BAD_PORTS) {
    try {
      return await startApache({ port });
    } catch {
      // taken: try the next one
    }
  }
  throw new Error(`none of the ports ${BAD_PORTS.join(", ")} is free`);
}

/** The large archive of `makeSource`. */
const LARGE_PATH = archivePath(99, "L");

/** A source cache of five artifacts (small siginfo and archives) and one large archive. */
async function makeSource(dir: string): Promise<string[]> {
  const src = join(dir, "sstate");
  const paths = [0, 1, 2, 3, 4].flatMap((n) => writeLikeBitbake(src, n, "p"));
  await Deno.mkdir(join(src, LARGE_PATH, ".."), { recursive: true });
  await Deno.writeFile(join(src, LARGE_PATH), new Uint8Array(LARGE).fill(7));
  return [...paths, LARGE_PATH].sort();
}

/** Deno itself would ask the proxy for its update check. */
const QUIET = { DENO_NO_UPDATE_CHECK: "1", NO_PROXY: "" };

const errorLines = (text: string) => text.split("\n").filter((l) => l.startsWith("ERROR:"));

Deno.test({
  name: "webdav transport: a server on a port fetch refuses is reached (upload, info, clean)",
  ignore: !haveApache(),
  async fn() {
    await using apache = await apacheOnBadPort();
    await using dir = await tempDir();
    const expected = await makeSource(dir.path);
    const url = `${apache.url}cache/`;
    assert.ok(BAD_PORTS.includes(new URL(url).port ? Number(new URL(url).port) : 80));
    const up = await runTool(["upload", join(dir.path, "sstate"), url]);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(up.stdout + up.stderr, /done: 11 uploaded/);
    assert.deepEqual(await listFiles(join(apache.dir, "cache")), expected);
    assert.equal((await Deno.stat(join(apache.dir, "cache", LARGE_PATH))).size, LARGE);
    const info = await runTool(["info", url]);
    assert.equal(info.code, 0, info.stdout + info.stderr);
    assert.match(info.stdout, /11/);
    const clean = await runTool(["clean", "--max-age", "1d", url]);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  },
});

Deno.test({
  name: "webdav transport: through tinyproxy, http in absolute form with Content-Length, " +
    "https through CONNECT, NO_PROXY bypasses it",
  ignore: !haveApache() || !haveTinyproxy(),
  async fn() {
    await using proxy = await startTinyproxy();
    await using dir = await tempDir();
    const expected = await makeSource(dir.path);
    const src = join(dir.path, "sstate");

    // http: tinyproxy forwards to a recording proxy in front of Apache (on a bad port too).
    await using apache = await apacheOnBadPort();
    const heads: RequestHead[] = [];
    await using recorder = startFaultProxy({
      targetPort: apache.port,
      fault(head) {
        heads.push(head);
        return "none";
      },
    });
    const url = `http://127.0.0.1:${recorder.port}/sstate/cache/`;
    const up = await runTool(["upload", src, url], { ...QUIET, HTTP_PROXY: proxy.url });
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.deepEqual(await listFiles(join(apache.dir, "cache")), expected);
    const viaProxy = await proxy.requests();
    const puts = viaProxy.filter((r) => r.startsWith("PUT "));
    assert.equal(puts.length, expected.length, viaProxy.join("\n"));
    assert.ok(puts.every((r) => r.startsWith(`PUT ${url}`)), puts.join("\n"));
    assert.ok(viaProxy.some((r) => r.startsWith("PROPFIND ")));
    const large = heads.find((h) =>
      h.method === "PUT" && decodeURIComponent(h.path).endsWith(LARGE_PATH)
    );
    assert.ok(large, "the large PUT reached Apache");
    assert.equal(large.headers.get("content-length"), String(LARGE));
    assert.equal(large.headers.get("transfer-encoding"), undefined);
    // Listings and deletes too.
    const listed = (await proxy.requests()).length;
    const info = await runTool(["info", url], { ...QUIET, HTTP_PROXY: proxy.url });
    assert.equal(info.code, 0, info.stdout + info.stderr);
    assert.match(info.stdout, new RegExp(`\\b${expected.length}\\b`));
    const clean = await runTool(["clean", "--max-age", "0s", url], {
      ...QUIET,
      HTTP_PROXY: proxy.url,
    });
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.deepEqual(await listFiles(join(apache.dir, "cache")).catch(() => []), []);
    const later = (await proxy.requests()).slice(listed);
    assert.ok(later.some((r) => r.startsWith(`PROPFIND ${url}`)), later.join("\n"));
    const deletes = later.filter((r) => r.startsWith("DELETE "));
    assert.ok(deletes.length >= expected.length, later.join("\n"));
    assert.ok(deletes.every((r) => r.startsWith(`DELETE ${url}`)), deletes.join("\n"));

    // https: one CONNECT tunnel (or a few), the requests inside it.
    await using secure = await startApache({ tls: true });
    const before = (await proxy.requests()).length;
    const secureUrl = `${secure.url}cache/`;
    const tls = await runTool(["upload", src, secureUrl], {
      ...QUIET,
      HTTPS_PROXY: proxy.url,
      DENO_CERT: secure.ca!,
    });
    assert.equal(tls.code, 0, tls.stdout + tls.stderr);
    assert.deepEqual(await listFiles(join(secure.dir, "cache")), expected);
    const tunnels = (await proxy.requests()).slice(before);
    assert.ok(tunnels.length >= 1, "the proxy saw the tunnel");
    assert.ok(
      tunnels.every((r) => r === `CONNECT 127.0.0.1:${secure.port}`),
      tunnels.join("\n"),
    );

    // NO_PROXY naming the host: nothing goes through the proxy.
    const seen = (await proxy.requests()).length;
    const direct = await runTool(["upload", src, `${apache.url}direct/`], {
      ...QUIET,
      HTTP_PROXY: proxy.url,
      NO_PROXY: "localhost,127.0.0.1",
    });
    assert.equal(direct.code, 0, direct.stdout + direct.stderr);
    assert.deepEqual(await listFiles(join(apache.dir, "direct")), expected);
    assert.equal((await proxy.requests()).length, seen);
  },
});

Deno.test({
  name: "webdav transport: a proxy that cannot be reached is one error line naming its variable",
  ignore: !haveApache(),
  async fn() {
    await using apache = await startApache();
    await using dir = await tempDir();
    await makeSource(dir.path);
    const src = join(dir.path, "sstate");
    const dead = `http://127.0.0.1:${freePort()}`;
    for (
      const [variable, url] of [["HTTP_PROXY", `${apache.url}cache/`], [
        "HTTPS_PROXY",
        "https://127.0.0.1:1/cache/",
      ]]
    ) {
      const run = await runTool(["upload", src, url], { ...QUIET, [variable]: dead });
      const text = run.stdout + run.stderr;
      assert.equal(run.code, 1, text);
      assert.deepEqual(errorLines(text).length, 1, text);
      assert.match(
        errorLines(text)[0],
        new RegExp(
          `^ERROR: cannot connect to the proxy http://127\\.0\\.0\\.1:\\d+/ \\(${variable}\\) ` +
            "for 127\\.0\\.0\\.1:\\d+: Connection refused$",
        ),
      );
    }
  },
});

Deno.test({
  name: "webdav transport: proxy credentials from the proxy URL; without them, one error line",
  ignore: !haveApache() || !haveTinyproxy(),
  async fn() {
    const login = { user: "proxyuser", password: "proxy-pw" };
    await using proxy = await startTinyproxy(login);
    await using apache = await startApache();
    await using secure = await startApache({ tls: true });
    await using dir = await tempDir();
    const expected = await makeSource(dir.path);
    const src = join(dir.path, "sstate");
    const withLogin = proxy.url.replace("http://", "http://proxyuser:proxy-pw@");
    for (const [variable, server] of [["HTTP_PROXY", apache], ["HTTPS_PROXY", secure]] as const) {
      const url = `${server.url}cache/`;
      const env = { ...QUIET, DENO_CERT: secure.ca! };
      const denied = await runTool(["upload", src, url], { ...env, [variable]: proxy.url });
      const text = denied.stdout + denied.stderr;
      assert.equal(denied.code, 1, text);
      assert.equal(errorLines(text).length, 1, text);
      assert.match(
        errorLines(text)[0],
        new RegExp(`proxy http://127\\.0\\.0\\.1:\\d+/ \\(${variable}\\)`),
      );
      assert.match(errorLines(text)[0], /\(HTTP 407 [^)]*\): it wants credentials$/);
      const ok = await runTool(["upload", src, url], { ...env, [variable]: withLogin });
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.deepEqual(await listFiles(join(server.dir, "cache")), expected);
      assert.ok(!(ok.stdout + ok.stderr + text).includes("proxy-pw"));
    }
  },
});

/** Deno's cache as it is, whatever HOME the tool runs with. */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;

Deno.test({
  name: "s3 transport: HTTP_PROXY carries uploads, listings and cleans; NO_PROXY bypasses it; " +
    "a dead proxy is one line",
  ignore: !haveTinyproxy(),
  async fn() {
    const server = await s3Server();
    const bucket = await newBucket(server, "proxy");
    await using proxy = await startTinyproxy();
    await using dir = await tempDir();
    const expected = await makeSource(dir.path);
    const src = join(dir.path, "sstate");
    const url = `s3://${bucket}/sstate`;
    const env = {
      ...QUIET,
      HOME: dir.path,
      DENO_DIR,
      AWS_ACCESS_KEY_ID: server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
      AWS_ENDPOINT_URL_S3: server.endpoint,
      AWS_EC2_METADATA_DISABLED: "true",
    };
    const stored = async (u: string) => (await collect(openS3(server, u))).map((e) => e.path);
    try {
      const up = await runTool(["upload", src, url], { ...env, HTTP_PROXY: proxy.url });
      assert.equal(up.code, 0, up.stdout + up.stderr);
      assert.deepEqual(await stored(url), expected);
      const viaProxy = await proxy.requests();
      const puts = viaProxy.filter((r) => r.startsWith(`PUT ${server.endpoint}/${bucket}/`));
      assert.equal(puts.length, expected.length, viaProxy.join("\n"));
      assert.ok(viaProxy.some((r) => r.startsWith(`GET ${server.endpoint}/${bucket}`)));

      // A listing (info) and a clean (DeleteObjects) through the proxy too.
      const before = viaProxy.length;
      const info = await runTool(["info", url], { ...env, http_proxy: proxy.url });
      assert.equal(info.code, 0, info.stdout + info.stderr);
      assert.match(info.stdout, new RegExp(`\\b${expected.length}\\b`));
      const clean = await runTool(["clean", "--max-age", "0s", url], {
        ...env,
        HTTP_PROXY: proxy.url,
      });
      assert.equal(clean.code, 0, clean.stdout + clean.stderr);
      assert.deepEqual(await stored(url), []);
      const later = (await proxy.requests()).slice(before);
      assert.ok(
        later.some((r) => r.startsWith(`GET ${server.endpoint}/${bucket}/?list-type=2`)),
        later.join("\n"),
      );
      assert.ok(
        later.some((r) => r.startsWith(`POST ${server.endpoint}/${bucket}/?delete`)),
        later.join("\n"),
      );

      // NO_PROXY: an address range, or the endpoint's host and port: nothing through the proxy.
      const seen = (await proxy.requests()).length;
      const port = new URL(server.endpoint).port;
      for (const [n, noProxy] of [["a", "127.0.0.0/8"], ["b", `example.com, 127.0.0.1:${port}`]]) {
        const direct = await runTool(["upload", src, `${url}-${n}`], {
          ...env,
          HTTP_PROXY: proxy.url,
          no_proxy: noProxy,
        });
        assert.equal(direct.code, 0, direct.stdout + direct.stderr);
        assert.deepEqual(await stored(`${url}-${n}`), expected);
      }
      assert.deepEqual((await proxy.requests()).slice(seen), []);

      const dead = `http://127.0.0.1:${freePort()}`;
      const run = await runTool(["upload", src, `${url}/other`], { ...env, HTTP_PROXY: dead });
      const text = run.stdout + run.stderr;
      assert.equal(run.code, 1, text);
      assert.equal(errorLines(text).length, 1, text);
      assert.match(
        errorLines(text)[0],
        /^ERROR: cannot connect to the proxy http:\/\/127\.0\.0\.1:\d+\/ \(HTTP_PROXY\) for 127\.0\.0\.1:\d+: Connection refused$/,
      );
    } finally {
      await dropBucket(server, bucket);
    }
  },
});

Deno.test({
  name: "s3 transport: proxy credentials from the proxy URL; without them, one line naming it",
  ignore: !haveTinyproxy(),
  async fn() {
    const server = await s3Server();
    const bucket = await newBucket(server, "proxy");
    await using proxy = await startTinyproxy({ user: "proxyuser", password: "proxy-pw" });
    await using dir = await tempDir();
    const expected = await makeSource(dir.path);
    const src = join(dir.path, "sstate");
    const url = `s3://${bucket}/sstate`;
    const env = {
      ...QUIET,
      HOME: dir.path,
      DENO_DIR,
      AWS_ACCESS_KEY_ID: server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
      AWS_ENDPOINT_URL_S3: server.endpoint,
      AWS_EC2_METADATA_DISABLED: "true",
    };
    try {
      const denied = await runTool(["upload", src, url], { ...env, HTTP_PROXY: proxy.url });
      const text = denied.stdout + denied.stderr;
      assert.equal(denied.code, 1, text);
      assert.deepEqual(errorLines(text), [
        `ERROR: the proxy ${proxy.url}/ (HTTP_PROXY) refused access to ${server.endpoint} ` +
        "(HTTP 407 Proxy Authentication Required): it wants credentials",
      ]);
      const withLogin = proxy.url.replace("http://", "http://proxyuser:proxy-pw@");
      const ok = await runTool(["upload", src, url], { ...env, HTTP_PROXY: withLogin });
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.deepEqual((await collect(openS3(server, url))).map((e) => e.path), expected);
      assert.ok(!(ok.stdout + ok.stderr + text).includes("proxy-pw"));
    } finally {
      await dropBucket(server, bucket);
    }
  },
});
