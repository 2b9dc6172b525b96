/**
 * isar-sstate against S3 end to end, as a user runs it: credentials and endpoint from the
 * environment; upload, a re-upload that sends nothing, info, and a clean that deletes in
 * batches. Requests are counted in radosgw's own log.
 */
import assert from "node:assert/strict";
import { collect } from "./backend_conformance.ts";
import { fixtureCache, listFiles, runTool, tempDir } from "./helpers.ts";
import {
  dropBucket,
  newBucket,
  newBucketName,
  openS3,
  s3Server,
  serverRequests,
} from "./servers/ceph.ts";

/** Deno's cache as it is, whatever HOME the tool runs with. */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;

Deno.test("s3 cli: upload, no-op re-upload, info and clean against radosgw", async () => {
  const server = await s3Server();
  const bucket = await newBucket(server, "cli");
  await using home = await tempDir();
  const env = {
    HOME: home.path,
    DENO_DIR,
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_ENDPOINT_URL_S3: server.endpoint,
    AWS_EC2_METADATA_DISABLED: "true",
    NO_COLOR: "1",
  };
  const url = `s3://${bucket}/sstate`;
  const local = fixtureCache("head", "local");
  const backend = openS3(server, url);
  try {
    const files = (await listFiles(local)).sort();
    const up = await runTool(["upload", local, url], env);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(up.stdout, new RegExp(`done: ${files.length} uploaded`));
    assert.deepEqual((await collect(backend)).map((e) => e.path), files);
    const puts = (await serverRequests(server, bucket))
      .filter((r) => r.startsWith(`PUT /${bucket}/sstate/`));
    assert.equal(puts.length, files.length, "one request per uploaded file");

    const before = (await serverRequests(server, bucket)).length;
    const again = await runTool(["upload", local, url], env);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /done: 0 uploaded/);
    const rerun = (await serverRequests(server, bucket)).slice(before);
    assert.ok(rerun.length > 0 && rerun.every((r) => r.startsWith("GET ")), rerun.join("\n"));

    const info = await runTool(["info", url], env);
    assert.equal(info.code, 0, info.stdout + info.stderr);
    assert.match(info.stdout, new RegExp(`found ${files.length} files`));

    const start = (await serverRequests(server, bucket)).length;
    const clean = await runTool(["clean", "--max-age", "0s", "--max-sig-age", "0s", url], env);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    const deletes = (await serverRequests(server, bucket)).slice(start)
      .filter((r) => !r.startsWith("GET "));
    assert.ok(deletes.length >= 1, "something was deleted");
    assert.ok(
      deletes.every((r) => r.startsWith("POST ") && r.includes("?delete")),
      deletes.join("\n"),
    );
    assert.deepEqual(await collect(backend), []);
  } finally {
    await backend.close();
    await dropBucket(server, bucket);
  }
});

Deno.test("s3 cli: missing credentials and a missing bucket are one line each, no secret", async () => {
  const server = await s3Server();
  await using home = await tempDir();
  const base = {
    HOME: home.path,
    DENO_DIR,
    AWS_EC2_METADATA_DISABLED: "true",
    NO_COLOR: "1",
    AWS_ACCESS_KEY_ID: "",
    AWS_SECRET_ACCESS_KEY: "",
    AWS_PROFILE: "",
  };
  const noCreds = await runTool(["info", `s3://${server.bucket}/x`], {
    ...base,
    AWS_ENDPOINT_URL: server.endpoint,
  });
  assert.notEqual(noCreds.code, 0);
  const lines = (noCreds.stdout + noCreds.stderr).trim().split("\n");
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(lines[0], /^ERROR: no AWS credentials found for s3:\/\/\S+: set AWS_ACCESS_KEY_ID/);
  const bucket = newBucketName("missing");
  const missing = await runTool(["info", `s3://${bucket}/c`], {
    ...base,
    AWS_ENDPOINT_URL: server.endpoint,
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
  });
  // info reports a missing target as it does for any scheme: one line, naming it.
  const lines2 = (missing.stdout + missing.stderr).trim().split("\n");
  assert.equal(lines2.length, 1, lines2.join("\n"));
  assert.ok(lines2[0].includes(`s3://${bucket}/c`), lines2[0]);
  assert.ok(!lines2[0].includes(server.secretAccessKey));
});

Deno.test("s3 cli: a profile that the shared files lack is named, with the files read", async () => {
  const server = await s3Server();
  await using home = await tempDir();
  const env = {
    HOME: home.path,
    DENO_DIR,
    AWS_EC2_METADATA_DISABLED: "true",
    NO_COLOR: "1",
    AWS_ACCESS_KEY_ID: "",
    AWS_SECRET_ACCESS_KEY: "",
    AWS_SHARED_CREDENTIALS_FILE: "",
    AWS_CONFIG_FILE: "",
    AWS_ENDPOINT_URL: server.endpoint,
    AWS_PROFILE: "nonexistent",
  };
  const url = `s3://${server.bucket}/x`;
  const missing = await runTool(["info", url], env);
  assert.equal(missing.code, 1);
  const lines = (missing.stdout + missing.stderr).trim().split("\n");
  assert.deepEqual(lines, [
    `ERROR: AWS profile 'nonexistent' (AWS_PROFILE) not found in ${home.path}/.aws/credentials ` +
    `(missing) or ${home.path}/.aws/config (missing)`,
  ]);
  // With the files there (holding other profiles), the same; the profile once added is used.
  await Deno.mkdir(`${home.path}/.aws`);
  await Deno.writeTextFile(`${home.path}/.aws/config`, "[profile other]\nregion = us-east-1\n");
  await Deno.writeTextFile(
    `${home.path}/.aws/credentials`,
    `[other]\naws_access_key_id = ${server.accessKeyId}\n` +
      `aws_secret_access_key = ${server.secretAccessKey}\n`,
  );
  const stillMissing = await runTool(["info", url], env);
  assert.equal(
    (stillMissing.stdout + stillMissing.stderr).trim(),
    `ERROR: AWS profile 'nonexistent' (AWS_PROFILE) not found in ${home.path}/.aws/credentials ` +
      `or ${home.path}/.aws/config`,
  );
  const found = await runTool(["info", url], { ...env, AWS_PROFILE: "other" });
  assert.equal(found.code, 0, found.stdout + found.stderr);
});
