/**
 * Where `s3://` locations lead: URL parsing, endpoint, addressing style and region from options
 * and the standard AWS environment variables, checked on the requests the SDK would send, and
 * end to end through the factory with only the environment to go by.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { BackendError } from "../src/backends/backend.ts";
import type { LocationOptions } from "../src/backends/url.ts";
import { S3Backend } from "../src/backends/s3/s3.ts";
import { type Env, resolveS3Location } from "../src/backends/s3/config.ts";
import { dropBucket, newBucketName, s3Server } from "./servers/ceph.ts";

Deno.test("s3 config: bucket and prefix from the URL", () => {
  const cases: [string, string, string, string][] = [
    ["s3://bucket", "bucket", "", "s3://bucket"],
    ["s3://bucket/", "bucket", "", "s3://bucket"],
    ["s3://my.bucket-1/a/b", "my.bucket-1", "a/b/", "s3://my.bucket-1/a/b"],
    ["s3://bucket/a/b/", "bucket", "a/b/", "s3://bucket/a/b"],
  ];
  for (const [url, bucket, prefix, display] of cases) {
    const loc = resolveS3Location(url, {}, {});
    assert.deepEqual([loc.bucket, loc.prefix, loc.displayUrl], [bucket, prefix, display], url);
  }
});

Deno.test("s3 config: malformed locations are refused without echoing secrets", () => {
  for (const url of ["s3://", "s3:///x", "s3://b", "s3://bucket//x", "s3://bucket/a/../x"]) {
    assert.throws(() => resolveS3Location(url, {}, {}), BackendError, url);
  }
  assert.throws(
    () => resolveS3Location("s3://AKIA:topsecret@bucket/x", {}, {}),
    (err: Error) => err instanceof BackendError && !err.message.includes("topsecret"),
  );
  for (const endpoint of ["ftp://host", "not a url", "http://user:topsecret@host"]) {
    assert.throws(
      () => resolveS3Location("s3://bucket", { s3Endpoint: endpoint }, {}),
      (err: Error) =>
        err instanceof BackendError && err.scope === "target" && !err.message.includes("topsecret"),
      endpoint,
    );
  }
});

Deno.test("s3 config: endpoint, path style and region from options and environment", () => {
  const resolve = (options: LocationOptions, env: Env) => {
    const { endpoint, forcePathStyle, region } = resolveS3Location("s3://b-1/p", options, env);
    return { endpoint, forcePathStyle, region };
  };
  const both = { AWS_ENDPOINT_URL: "http://general:1", AWS_ENDPOINT_URL_S3: "http://s3only:2/" };
  assert.deepEqual(resolve({}, {}), {
    endpoint: undefined,
    forcePathStyle: false,
    region: undefined,
  });
  assert.equal(resolve({}, { AWS_ENDPOINT_URL: "http://general:1" }).endpoint, "http://general:1");
  assert.equal(resolve({}, both).endpoint, "http://s3only:2", "the S3-specific variable wins");
  assert.equal(resolve({ s3Endpoint: "https://opt:3" }, both).endpoint, "https://opt:3");
  const ignored = { ...both, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" };
  assert.equal(resolve({}, ignored).endpoint, undefined);
  assert.equal(resolve({ s3Endpoint: "https://opt:3" }, ignored).endpoint, "https://opt:3");
  assert.equal(resolve({}, both).forcePathStyle, true, "path style with a custom endpoint");
  assert.equal(resolve({ s3PathStyle: false }, both).forcePathStyle, false);
  assert.equal(resolve({ s3PathStyle: true }, {}).forcePathStyle, true);
  assert.equal(resolve({}, { AWS_DEFAULT_REGION: "eu-west-1" }).region, "eu-west-1");
  assert.equal(
    resolve({}, { AWS_REGION: "eu-north-1", AWS_DEFAULT_REGION: "x" }).region,
    "eu-north-1",
  );
});

/** What the SDK would send for a HeadObject on `url`: URL and signing region (nothing is sent). */
async function firstRequest(url: string, options: LocationOptions, env: Env) {
  const backend = new S3Backend(url, options, {
    env,
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret-example" },
  });
  let seen: { host: string; path: string; region: string } | undefined;
  backend.client.middlewareStack.add(
    // deno-lint-ignore no-explicit-any
    () => (args: any) => {
      const r = args.request;
      const region = /Credential=[^/]+\/\d+\/([^/]+)\/s3\//.exec(r.headers.authorization)?.[1];
      seen = {
        host: `${r.protocol}//${r.hostname}${r.port ? `:${r.port}` : ""}`,
        path: r.path,
        region: region ?? "",
      };
      throw new Error("captured");
    },
    { step: "deserialize", priority: "low", name: "capture" },
  );
  await assert.rejects(() => backend.stat("aa/x"));
  await backend.close();
  return seen;
}

Deno.test("s3 config: the requests go where the settings say, signed for the region", async () => {
  assert.deepEqual(
    await firstRequest("s3://bucket/cache", {}, {
      AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9000",
      AWS_REGION: "eu-central-1",
    }),
    { host: "http://127.0.0.1:9000", path: "/bucket/cache/aa/x", region: "eu-central-1" },
  );
  assert.deepEqual(
    await firstRequest("s3://bucket/cache", { s3Endpoint: "https://s3.example.net" }, {
      AWS_REGION: "r1",
    }),
    { host: "https://s3.example.net", path: "/bucket/cache/aa/x", region: "r1" },
  );
  assert.deepEqual(
    await firstRequest("s3://bucket/cache", {
      s3Endpoint: "https://s3.example.net",
      s3PathStyle: false,
    }, { AWS_REGION: "r1" }),
    { host: "https://bucket.s3.example.net", path: "/cache/aa/x", region: "r1" },
  );
  assert.deepEqual(
    await firstRequest("s3://bucket/cache", {}, { AWS_DEFAULT_REGION: "eu-west-3" }),
    { host: "https://bucket.s3.eu-west-3.amazonaws.com", path: "/cache/aa/x", region: "eu-west-3" },
  );
});

const PROBE = fileURLToPath(new URL("./servers/s3_probe.ts", import.meta.url));

/** Runs the probe with exactly `env` (plus PATH), away from any AWS config of this machine. */
async function probe(url: string, env: Env): Promise<Record<string, unknown>> {
  const home = await Deno.makeTempDir({ prefix: "isar-sstate-home-" });
  try {
    const clean: Record<string, string> = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: home,
      // Never ask the EC2 instance metadata service for credentials from a test.
      AWS_EC2_METADATA_DISABLED: "true",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
    };
    for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", PROBE, url],
      env: clean,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    assert.ok(text, new TextDecoder().decode(out.stderr));
    return JSON.parse(text.split("\n").at(-1)!);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("s3 config: credentials, endpoint and region from the environment alone", async () => {
  const server = await s3Server();
  const bucket = newBucketName("env");
  try {
    const env = {
      AWS_ACCESS_KEY_ID: server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
      AWS_ENDPOINT_URL: server.endpoint,
    };
    // No region set anywhere: the fallback; path style because of the endpoint.
    assert.deepEqual(await probe(`s3://${bucket}/c`, env), {
      scope: "target",
      message: `bucket '${bucket}' does not exist (s3://${bucket}/c)`,
    });
    assert.deepEqual(await probe(`s3://${server.bucket}/env-${bucket}`, env), {
      exists: true,
      paths: ["aa/probe"],
    });
  } finally {
    await dropBucket(server, bucket);
  }
});

Deno.test("s3 config: a profile from the shared files; no credentials at all", async () => {
  const server = await s3Server();
  const dir = await Deno.makeTempDir({ prefix: "isar-sstate-aws-" });
  try {
    await Deno.writeTextFile(
      `${dir}/credentials`,
      `[cache]\naws_access_key_id = ${server.accessKeyId}\n` +
        `aws_secret_access_key = ${server.secretAccessKey}\n`,
    );
    await Deno.writeTextFile(`${dir}/config`, `[profile cache]\nregion = ${server.region}\n`);
    const url = `s3://${server.bucket}/profile-${crypto.randomUUID().slice(0, 8)}`;
    const files = {
      AWS_SHARED_CREDENTIALS_FILE: `${dir}/credentials`,
      AWS_CONFIG_FILE: `${dir}/config`,
      AWS_ENDPOINT_URL_S3: server.endpoint,
    };
    assert.deepEqual(await probe(url, { ...files, AWS_PROFILE: "cache" }), {
      exists: true,
      paths: ["aa/probe"],
    });
    const none = await probe(url, { ...files, AWS_PROFILE: undefined });
    assert.equal(none.scope, "target");
    assert.match(String(none.message), /^no AWS credentials found for s3:\/\/\S+: set/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
