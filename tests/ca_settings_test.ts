/**
 * One set of CA settings for https targets, against real TLS servers with a private CA: S3 on a
 * radosgw of the test's own serving https itself (beast's `ssl_endpoint`), WebDAV on Apache with
 * mod_ssl. S3 reads `AWS_CA_BUNDLE`, else the profile's `ca_bundle`; both read `DENO_CERT`,
 * `SSL_CERT_FILE` and `NODE_EXTRA_CA_CERTS`. Without them, one error line names the settings
 * read and the one to set; https through a proxy (CONNECT) trusts the same CAs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { collect } from "./backend_conformance.ts";
import { listFiles, runTool, tempDir } from "./helpers.ts";
import { haveApache, startApache } from "./servers/apache.ts";
import { dropBucket, newBucket, openS3, s3Server, startGateway } from "./servers/ceph.ts";
import { makePrivateCa } from "./servers/certs.ts";
import { haveTinyproxy, startTinyproxy } from "./servers/tinyproxy.ts";
import { errorLines, isolatedEnv, makeSource } from "./settings_env.ts";

const server = await s3Server();
const ca = await makePrivateCa();
const gateway = await startGateway(server, { tls: { cert: ca.cert, key: ca.key } });
const other = await makePrivateCa("another test CA");
globalThis.addEventListener("unload", () => {
  Deno.removeSync(ca.dir, { recursive: true });
  Deno.removeSync(other.dir, { recursive: true });
});

/** Runs `args` against the https gateway with the test user's keys and `extra` settings. */
async function s3Run(home: string, args: string[], extra: Record<string, string> = {}) {
  const run = await runTool(
    args,
    isolatedEnv(home, {
      AWS_ACCESS_KEY_ID: server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
      AWS_ENDPOINT_URL_S3: gateway.endpoint,
      ...extra,
    }),
  );
  return { ...run, text: run.stdout + run.stderr };
}

/** The one error of a run that did not trust the gateway, settings read and all. */
function untrusted(text: string, where: string): string {
  const lines = errorLines(text);
  assert.equal(lines.length, 1, text);
  assert.ok(
    lines[0].startsWith(
      `ERROR: cannot connect to ${where} (endpoint ${gateway.endpoint}): ` +
        "unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE); " +
        "CA settings read: ",
    ),
    lines[0],
  );
  assert.match(lines[0], /; to trust a private CA, set AWS_CA_BUNDLE=\/path\/ca\.pem /);
  return lines[0];
}

Deno.test({
  name: "ca settings: S3 over https with a private CA; without its CA one line says what to set",
  sanitizeResources: false,
  async fn() {
    const bucket = await newBucket(server, "tls");
    await using home = await tempDir();
    const { src, paths } = makeSource(home.path);
    const url = `s3://${bucket}/cache`;
    try {
      for (const command of [["info", url], ["upload", src, url]]) {
        const run = await s3Run(home.path, command);
        assert.equal(run.code, 1, run.text);
        const line = untrusted(run.text, url);
        assert.ok(
          line.endsWith(
            "CA settings read: AWS_CA_BUNDLE (not set), ca_bundle (profile 'default') (not set), " +
              "DENO_CERT (not set), SSL_CERT_FILE (not set), NODE_EXTRA_CA_CERTS (not set), " +
              "DENO_TLS_CA_STORE (not set: mozilla); to trust a private CA, set " +
              "AWS_CA_BUNDLE=/path/ca.pem (a PEM file), or DENO_TLS_CA_STORE=system if the " +
              "system trusts it",
          ),
          line,
        );
      }
      assert.deepEqual(await collect(openS3(server, url)), []);

      // AWS_CA_BUNDLE: upload, info and clean over https.
      const bundle = { AWS_CA_BUNDLE: ca.ca };
      const up = await s3Run(home.path, ["upload", src, url], bundle);
      assert.equal(up.code, 0, up.text);
      assert.deepEqual((await collect(openS3(server, url))).map((e) => e.path), paths);
      const info = await s3Run(home.path, ["info", url], bundle);
      assert.equal(info.code, 0, info.text);
      assert.match(info.stdout, new RegExp(`\\b${paths.length}\\b`));
      const clean = await s3Run(home.path, ["clean", "--max-age", "0s", url], bundle);
      assert.equal(clean.code, 0, clean.text);
      assert.deepEqual(await collect(openS3(server, url)), []);
    } finally {
      await dropBucket(server, bucket);
    }
  },
});

Deno.test({
  name: "ca settings: a profile's ca_bundle, DENO_CERT, SSL_CERT_FILE and NODE_EXTRA_CA_CERTS " +
    "each trust the CA; AWS_CA_BUNDLE overrides ca_bundle",
  sanitizeResources: false,
  async fn() {
    const bucket = await newBucket(server, "tls");
    await using home = await tempDir();
    const { src, paths } = makeSource(home.path);
    await Deno.mkdir(join(home.path, ".aws"));
    await Deno.writeTextFile(
      join(home.path, ".aws", "config"),
      `[profile tls]\nca_bundle = ${ca.ca}\nregion = ${server.region}\n`,
    );
    try {
      const cases: [string, Record<string, string>][] = [
        ["profile", { AWS_PROFILE: "tls" }],
        ["deno", { DENO_CERT: ca.ca }],
        ["ssl", { SSL_CERT_FILE: ca.ca }],
        ["node", { NODE_EXTRA_CA_CERTS: ca.ca }],
      ];
      for (const [prefix, settings] of cases) {
        const url = `s3://${bucket}/${prefix}`;
        const up = await s3Run(home.path, ["upload", src, url], settings);
        assert.equal(up.code, 0, `${prefix}: ${up.text}`);
        const stored = (await collect(openS3(server, url))).map((e) => e.path);
        assert.deepEqual(stored, paths, prefix);
      }
      // AWS_CA_BUNDLE comes first: naming another CA, the profile's is not used.
      const url = `s3://${bucket}/profile`;
      const overridden = await s3Run(home.path, ["info", url], {
        AWS_PROFILE: "tls",
        AWS_CA_BUNDLE: other.ca,
      });
      assert.equal(overridden.code, 1, overridden.text);
      assert.match(
        untrusted(overridden.text, url),
        new RegExp(
          `CA settings read: AWS_CA_BUNDLE=${other.ca}, ca_bundle \\(profile 'tls'\\)=${ca.ca} ` +
            "\\(overridden by AWS_CA_BUNDLE\\), DENO_CERT \\(not set\\)",
        ),
      );
      // A CA file that cannot be read, or holds no certificate: one line naming the setting.
      const missing = await s3Run(home.path, ["info", url], {
        AWS_CA_BUNDLE: `${home.path}/nothing.pem`,
      });
      assert.equal(missing.code, 1, missing.text);
      assert.match(
        errorLines(missing.text).join("\n"),
        new RegExp(
          `^ERROR: cannot read the CA file ${home.path}/nothing\\.pem \\(AWS_CA_BUNDLE\\)`,
        ),
      );
      const notPem = await s3Run(home.path, ["info", url], { DENO_CERT: ca.key });
      assert.deepEqual(errorLines(notPem.text), [
        `ERROR: the CA file ${ca.key} (DENO_CERT) holds no PEM certificate`,
      ]);
    } finally {
      await dropBucket(server, bucket);
    }
  },
});

Deno.test({
  name: "ca settings: S3 over https through a proxy's CONNECT tunnel trusts AWS_CA_BUNDLE",
  ignore: !haveTinyproxy(),
  sanitizeResources: false,
  async fn() {
    const bucket = await newBucket(server, "tls");
    await using proxy = await startTinyproxy();
    await using home = await tempDir();
    const { src, paths } = makeSource(home.path);
    const url = `s3://${bucket}/cache`;
    try {
      const up = await s3Run(home.path, ["upload", src, url], {
        HTTPS_PROXY: proxy.url,
        AWS_CA_BUNDLE: ca.ca,
      });
      assert.equal(up.code, 0, up.text);
      assert.deepEqual((await collect(openS3(server, url))).map((e) => e.path), paths);
      const tunnels = await proxy.requests();
      assert.ok(tunnels.length >= 1, "the proxy saw the tunnel");
      const port = new URL(gateway.endpoint).port;
      assert.ok(tunnels.every((r) => r === `CONNECT 127.0.0.1:${port}`), tunnels.join("\n"));
    } finally {
      await dropBucket(server, bucket);
    }
  },
});

Deno.test({
  name: "ca settings: WebDAV over https trusts SSL_CERT_FILE; untrusted, the settings read",
  ignore: !haveApache(),
  sanitizeResources: false,
  async fn() {
    await using apache = await startApache({ tls: true });
    await using home = await tempDir();
    const { src, paths } = makeSource(home.path);
    const url = `${apache.url}cache/`;
    const bare = await runTool(["upload", src, url], isolatedEnv(home.path));
    const lines = errorLines(bare.stdout + bare.stderr);
    assert.equal(bare.code, 1);
    assert.deepEqual(lines, [
      `ERROR: cannot connect to ${url}: unable to verify the first certificate ` +
      "(UNABLE_TO_VERIFY_LEAF_SIGNATURE); CA settings read: DENO_CERT (not set), SSL_CERT_FILE " +
      "(not set), NODE_EXTRA_CA_CERTS (not set), DENO_TLS_CA_STORE (not set: mozilla); to trust " +
      "a private CA, set DENO_CERT=/path/ca.pem (a PEM file), or DENO_TLS_CA_STORE=system if " +
      "the system trusts it",
    ]);
    const up = await runTool(
      ["upload", src, url],
      isolatedEnv(home.path, { SSL_CERT_FILE: apache.ca! }),
    );
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.deepEqual(await listFiles(join(apache.dir, "cache")), paths);
  },
});
