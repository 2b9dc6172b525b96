/**
 * AWS profiles as the AWS CLI reads them, from generated `~/.aws/config` and `credentials` files
 * in a temporary HOME: the profile in force (`--profile`, AWS_PROFILE), endpoint_url and the
 * `[services NAME]` endpoints with the CLI's precedence, `s3.addressing_style`, region; against
 * radosgw: endpoint and path style from a profile, environment keys over a profile's (and
 * `--profile` over the environment's), credential_process, and the chain a missing credential
 * error lists.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { collect } from "./backend_conformance.ts";
import { runTool, tempDir } from "./helpers.ts";
import { resolveS3Location } from "../src/backends/s3/config.ts";
import { loadSharedConfig } from "../src/backends/s3/profile.ts";
import { S3Backend } from "../src/backends/s3/s3.ts";
import type { LocationOptions } from "../src/backends/url.ts";
import { dropBucket, newBucket, openS3, s3Server, serverRequests } from "./servers/ceph.ts";
import { errorLines, isolatedEnv, makeSource } from "./settings_env.ts";

const CONFIG = `# generated for the test
[default]
region = eu-west-1

[profile global]
endpoint_url = https://global.example.net
region = eu-central-1

[profile specific]
services = local-s3
endpoint_url = https://global.example.net

[profile ignoring]
endpoint_url = https://global.example.net
ignore_configured_endpoint_urls = true

[profile virtual]
endpoint_url = https://store.example.net
s3 =
  addressing_style = virtual

[profile pathstyle]
s3 =
  addressing_style = path

[profile odd]
s3 =
  addressing_style = sideways

[services local-s3]
s3 =
  endpoint_url = http://127.0.0.1:9000
sts =
  endpoint_url = http://127.0.0.1:9001
`;

Deno.test("s3 profile: endpoint, addressing style and region as the AWS CLI resolves them", async () => {
  await using dir = await tempDir();
  const config = join(dir.path, "config");
  await Deno.writeTextFile(config, CONFIG);
  const base = { HOME: dir.path, AWS_CONFIG_FILE: config };
  const shared = await loadSharedConfig(base);
  const resolve = (env: Record<string, string>, options: LocationOptions = {}) => {
    const l = resolveS3Location("s3://bucket/p", options, { ...base, ...env }, shared);
    return { endpoint: l.endpoint, path: l.forcePathStyle, region: l.region };
  };
  const profile = (name: string) => ({ AWS_PROFILE: name });
  assert.deepEqual(resolve({}), { endpoint: undefined, path: false, region: "eu-west-1" });
  assert.deepEqual(resolve(profile("global")), {
    endpoint: "https://global.example.net",
    path: true,
    region: "eu-central-1",
  });
  // The services section's s3 endpoint over the profile's endpoint_url; the environment's over
  // both (the S3-specific variable first); --s3-endpoint over everything.
  assert.equal(resolve(profile("specific")).endpoint, "http://127.0.0.1:9000");
  const both = { AWS_ENDPOINT_URL: "http://env-global:1", AWS_ENDPOINT_URL_S3: "http://env-s3:2" };
  assert.equal(
    resolve({ ...profile("specific"), AWS_ENDPOINT_URL: both.AWS_ENDPOINT_URL }).endpoint,
    "http://env-global:1",
  );
  assert.equal(resolve({ ...profile("specific"), ...both }).endpoint, "http://env-s3:2");
  assert.equal(
    resolve(profile("specific"), { s3Endpoint: "http://option:3" }).endpoint,
    "http://option:3",
  );
  // --profile over AWS_PROFILE.
  assert.equal(
    resolve(profile("global"), { profile: "specific" }).endpoint,
    "http://127.0.0.1:9000",
  );
  // ignore_configured_endpoint_urls (profile or environment) ignores all but --s3-endpoint.
  assert.equal(resolve({ ...profile("ignoring"), ...both }).endpoint, undefined);
  assert.equal(
    resolve({ ...profile("specific"), AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" }).endpoint,
    undefined,
  );
  assert.equal(
    resolve(profile("ignoring"), { s3Endpoint: "http://option:3" }).endpoint,
    "http://option:3",
  );
  // s3.addressing_style: virtual even with an endpoint, path even without; --s3-path-style first.
  assert.deepEqual(resolve(profile("virtual")).path, false);
  assert.deepEqual(resolve(profile("virtual"), { s3PathStyle: true }).path, true);
  assert.deepEqual(resolve(profile("pathstyle")).path, true);
  assert.throws(
    () => resolve(profile("odd")),
    /^BackendError: s3\.addressing_style \(profile 'odd'\): expected path, virtual or auto, not 'sideways'$/,
  );
  // The region: AWS_REGION, AWS_DEFAULT_REGION, then the profile's.
  assert.equal(
    resolve({ ...profile("global"), AWS_DEFAULT_REGION: "us-west-2" }).region,
    "us-west-2",
  );
  assert.equal(
    resolve({ ...profile("global"), AWS_REGION: "ap-south-1", AWS_DEFAULT_REGION: "x" }).region,
    "ap-south-1",
  );

  // The requests follow: virtual-hosted on the profile's endpoint, signed for its region.
  const location = resolveS3Location(
    "s3://bucket/p",
    {},
    { ...base, ...profile("virtual") },
    shared,
  );
  const backend = new S3Backend(location, {}, {
    env: base,
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret-example" },
  });
  let seen = "";
  backend.client.middlewareStack.add(
    // deno-lint-ignore no-explicit-any
    () => (args: any) => {
      seen = `${args.request.hostname} ${args.request.path}`;
      throw new Error("captured");
    },
    { step: "deserialize", priority: "low", name: "capture" },
  );
  await assert.rejects(() => backend.stat("aa/x"));
  await backend.close();
  assert.equal(seen, "bucket.store.example.net /p/aa/x");
});

/** Writes `~/.aws/config` and `~/.aws/credentials` in `home`. */
async function awsFiles(home: string, config: string, credentials = ""): Promise<void> {
  await Deno.mkdir(join(home, ".aws"), { recursive: true });
  await Deno.writeTextFile(join(home, ".aws", "config"), config);
  await Deno.writeTextFile(join(home, ".aws", "credentials"), credentials);
}

Deno.test({
  name: "s3 profile: endpoint and path style from a profile (and a services section) reach radosgw",
  sanitizeResources: false,
  async fn() {
    const server = await s3Server();
    const bucket = await newBucket(server, "profile");
    await using home = await tempDir();
    const { src, paths } = makeSource(home.path);
    // localhost, not 127.0.0.1: virtual-hosted addressing would ask BUCKET.localhost.
    const endpoint = server.endpoint.replace("127.0.0.1", "localhost");
    await awsFiles(
      home.path,
      `[profile ci]\nendpoint_url = ${endpoint}\nregion = ${server.region}\n` +
        "s3 =\n  addressing_style = path\n\n" +
        `[profile svc]\nservices = store\n[services store]\ns3 =\n  endpoint_url = ${endpoint}\n`,
      `[ci]\naws_access_key_id = ${server.accessKeyId}\n` +
        `aws_secret_access_key = ${server.secretAccessKey}\n` +
        `[svc]\naws_access_key_id = ${server.accessKeyId}\n` +
        `aws_secret_access_key = ${server.secretAccessKey}\n`,
    );
    try {
      const url = `s3://${bucket}/ci`;
      const up = await runTool(["upload", src, url], isolatedEnv(home.path, { AWS_PROFILE: "ci" }));
      assert.equal(up.code, 0, up.stdout + up.stderr);
      assert.deepEqual((await collect(openS3(server, url))).map((e) => e.path), paths);
      // Path-style: the bucket in the path (radosgw logs virtual-hosted requests without it).
      const puts = (await serverRequests(server, bucket)).filter((r) =>
        r.startsWith(`PUT /${bucket}/ci/`)
      );
      assert.equal(puts.length, paths.length, puts.join("\n"));
      const svcUrl = `s3://${bucket}/svc`;
      const svc = await runTool(
        ["upload", src, svcUrl, "--profile", "svc"],
        isolatedEnv(home.path),
      );
      assert.equal(svc.code, 0, svc.stdout + svc.stderr);
      assert.deepEqual((await collect(openS3(server, svcUrl))).map((e) => e.path), paths);
    } finally {
      await dropBucket(server, bucket);
    }
  },
});

Deno.test({
  name: "s3 profile: environment keys over AWS_PROFILE's, --profile's over the environment's",
  sanitizeResources: false,
  async fn() {
    const server = await s3Server();
    const bucket = await newBucket(server, "keys");
    await using home = await tempDir();
    const { src, paths } = makeSource(home.path);
    // The profile holds the keys of a user who owns nothing: its keys would be denied.
    await awsFiles(
      home.path,
      `[profile other]\nregion = ${server.region}\n`,
      `[other]\naws_access_key_id = ${server.other.accessKeyId}\n` +
        `aws_secret_access_key = ${server.other.secretAccessKey}\n`,
    );
    const url = `s3://${bucket}/c`;
    const env = isolatedEnv(home.path, {
      AWS_ENDPOINT_URL_S3: server.endpoint,
      AWS_ACCESS_KEY_ID: server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    });
    try {
      const up = await runTool(["upload", src, url], { ...env, AWS_PROFILE: "other" });
      assert.equal(up.code, 0, up.stdout + up.stderr);
      assert.deepEqual((await collect(openS3(server, url))).map((e) => e.path), paths);
      const denied = [`ERROR: access denied to ${url} (AccessDenied)`];
      const chosen = await runTool(["info", url, "--profile", "other"], env);
      assert.equal(chosen.code, 1);
      assert.deepEqual(errorLines(chosen.stdout + chosen.stderr), denied);
      const alone = await runTool(["info", url], {
        ...env,
        AWS_ACCESS_KEY_ID: "",
        AWS_SECRET_ACCESS_KEY: "",
        AWS_PROFILE: "other",
      });
      assert.deepEqual(errorLines(alone.stdout + alone.stderr), denied);
    } finally {
      await dropBucket(server, bucket);
    }
  },
});

Deno.test({
  name: "s3 profile: credential_process gives the keys; a failing one is one line, no secret",
  sanitizeResources: false,
  async fn() {
    const server = await s3Server();
    const bucket = await newBucket(server, "process");
    await using home = await tempDir();
    const { src, paths } = makeSource(home.path);
    const good = join(home.path, "creds.sh");
    await Deno.writeTextFile(
      good,
      `#!/bin/sh\necho '{"Version": 1, "AccessKeyId": "${server.accessKeyId}", ` +
        `"SecretAccessKey": "${server.secretAccessKey}"}'\n`,
    );
    const bad = join(home.path, "broken.sh");
    await Deno.writeTextFile(
      bad,
      `#!/bin/sh\necho "token ${server.secretAccessKey}" >&2\necho '{"Version": 1'\nexit 3\n`,
    );
    await Deno.chmod(good, 0o755);
    await Deno.chmod(bad, 0o755);
    await awsFiles(
      home.path,
      `[profile proc]\ncredential_process = ${good} --token not-a-secret\n` +
        `[profile broken]\ncredential_process = ${bad} --token cmdline-secret\n`,
    );
    const url = `s3://${bucket}/c`;
    const env = isolatedEnv(home.path, { AWS_ENDPOINT_URL_S3: server.endpoint });
    try {
      const up = await runTool(["upload", src, url], { ...env, AWS_PROFILE: "proc" });
      assert.equal(up.code, 0, up.stdout + up.stderr);
      assert.deepEqual((await collect(openS3(server, url))).map((e) => e.path), paths);
      for (const flags of [[], ["-v", "--debug"], ["--json"]]) {
        const run = await runTool(["info", url, "--profile", "broken", ...flags], env);
        const text = run.stdout + run.stderr;
        assert.equal(run.code, 1, text);
        assert.ok(!text.includes(server.secretAccessKey), text);
        assert.ok(!text.includes("cmdline-secret"), text);
        if (flags[0] === "--json") continue;
        assert.deepEqual(errorLines(text), [
          `ERROR: cannot get AWS credentials for ${url} from profile 'broken': ` +
          "credential_process failed",
        ]);
      }
    } finally {
      await dropBucket(server, bucket);
    }
  },
});

Deno.test("s3 profile: without credentials, the error lists the chain it tried", async () => {
  await using home = await tempDir();
  await awsFiles(home.path, "[profile empty]\nregion = us-east-1\n");
  const env = isolatedEnv(home.path, { AWS_ENDPOINT_URL_S3: "http://127.0.0.1:1" });
  const url = "s3://bucket/c";
  const run = await runTool(["info", url], { ...env, AWS_PROFILE: "empty" });
  assert.equal(run.code, 1);
  const aws = join(home.path, ".aws");
  assert.deepEqual(errorLines(run.stdout + run.stderr), [
    `ERROR: no AWS credentials found for ${url}: set AWS_ACCESS_KEY_ID and ` +
    "AWS_SECRET_ACCESS_KEY, or name a profile with credentials (AWS_PROFILE, --profile); " +
    "tried environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set), web identity " +
    "(AWS_WEB_IDENTITY_TOKEN_FILE not set), profile 'empty' (no credentials in it: " +
    "aws_access_key_id, credential_process, role_arn, web_identity_token_file, …), container " +
    "(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI not set), " +
    "instance metadata (AWS_EC2_METADATA_DISABLED=true)",
  ]);
  const none = await runTool(["info", url], env);
  assert.match(
    errorLines(none.stdout + none.stderr)[0],
    new RegExp(
      `profile 'default' \\(not in ${aws}/credentials or ${aws}/config\\), container`,
    ),
  );
  // --profile naming a profile that is not there: that alone, as the AWS CLI says.
  const missing = await runTool(["info", url, "--profile", "nope"], env);
  assert.deepEqual(errorLines(missing.stdout + missing.stderr), [
    `ERROR: AWS profile 'nope' (--profile) not found in ${aws}/credentials or ${aws}/config`,
  ]);
  // Half of the environment's keys: an error, not a fall-through to other credentials.
  const half = await runTool(["info", url], { ...env, AWS_ACCESS_KEY_ID: "AKIDHALF" });
  assert.deepEqual(errorLines(half.stdout + half.stderr), [
    `ERROR: cannot get AWS credentials for ${url} from environment: ` +
    "AWS_SECRET_ACCESS_KEY is not set",
  ]);
});
