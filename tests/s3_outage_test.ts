/**
 * `upload` to an S3 gateway that stops answering or dies in the middle, on a radosgw of the
 * test's own (the shared one stays untouched): a hung gateway (SIGSTOP) is warned about while
 * requests stall and ends the run within the stall bound; a second Ctrl-C ends it at once
 * whatever is in flight, leaving unfinished multipart uploads to `clean`; a gateway killed
 * mid-upload is one line, not one per file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ListMultipartUploadsCommand, type S3Client } from "@aws-sdk/client-s3";
import { runTool, spawnTool, tempDir } from "./helpers.ts";
import {
  dropBucket,
  newBucket,
  type S3Server,
  s3Server,
  sdkClient,
  startGateway,
} from "./servers/ceph.ts";

/** Deno's cache as it is, whatever HOME the tool runs with. */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
const HASH = "0".repeat(60);

/** The environment of a tool run against `endpoint` with the server's credentials. */
function envFor(server: S3Server, home: string, endpoint: string, extra = {}) {
  return {
    HOME: home,
    DENO_DIR,
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_EC2_METADATA_DISABLED: "true",
    NO_COLOR: "1",
    ...extra,
  };
}

/** Writes `count` archives of `size` bytes below `dir`; returns their paths. */
async function archives(dir: string, count: number, size: number, tag: string): Promise<string[]> {
  const data = new Uint8Array(size).map((_, i) => (i * 13) & 0xff);
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const hash = `${(i & 0xffff).toString(16).padStart(4, "0")}${HASH}`;
    const rel = `${hash.slice(0, 2)}/${hash.slice(2, 4)}`;
    const path = `${rel}/sstate:${tag}${i}:arm64-isar:1.0:r0:arm64:10:${hash}_dpkg_build.tar.zst`;
    await Deno.mkdir(join(dir, rel), { recursive: true });
    await Deno.writeFile(join(dir, path), data);
    paths.push(path);
  }
  return paths;
}

/** The multipart uploads in progress in `bucket`. */
async function multipartUploads(client: S3Client, bucket: string): Promise<number> {
  const out = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return out.Uploads?.length ?? 0;
}

/** Waits (up to a minute) until `bucket` has a multipart upload in progress. */
async function untilMultipart(client: S3Client, bucket: string): Promise<void> {
  for (let i = 0; i < 600 && await multipartUploads(client, bucket) === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(await multipartUploads(client, bucket) > 0, "a multipart upload began");
}

const errorLines = (text: string) => text.split("\n").filter((l) => l.startsWith("ERROR:"));

Deno.test("s3 outage: a gateway that stops answering is warned about and ends the upload in one line", async () => {
  const server = await s3Server();
  const bucket = await newBucket(server, "hang");
  const client = sdkClient(server);
  await using gateway = await startGateway(server);
  await using dir = await tempDir();
  try {
    const src = join(dir.path, "sstate");
    await archives(src, 1, 70 * 1024 * 1024, "large");
    await archives(src, 40, 64 * 1024, "small");
    // The stall timeout, tuned down from 60 s so that the test need not wait minutes.
    const env = envFor(server, dir.path, gateway.endpoint, { ISAR_SSTATE_STALL_TIMEOUT: "2" });
    const run = spawnTool(["upload", "-j", "4", src, `s3://${bucket}/cache`], env);
    await untilMultipart(client, bucket);
    gateway.signal("SIGSTOP");
    const { code, stdout, stderr } = await run.finish();
    const all = stdout + stderr;
    assert.equal(code, 1, all);
    assert.match(
      all,
      new RegExp(
        `^WARNING: s3://${bucket}/cache \\(${gateway.endpoint}\\): no answer for 2 s`,
        "m",
      ),
      "the stall is told while it lasts",
    );
    assert.deepEqual(
      errorLines(all).map((l) => l.replace(/:.*/, "")),
      ["ERROR"],
      `one ERROR line:\n${all}`,
    );
    assert.match(
      errorLines(all)[0],
      new RegExp(`^ERROR: s3://${bucket}/cache \\(endpoint ${gateway.endpoint}\\) does not answer`),
    );
    assert.match(stdout, /^INFO: done: \d+ uploaded .* failed in /m);
  } finally {
    gateway.signal("SIGCONT");
    client.destroy();
    await dropBucket(server, bucket);
  }
});

Deno.test("s3 outage: a second Ctrl-C ends an upload to a hung gateway at once; clean aborts what it left", async () => {
  const server = await s3Server();
  const bucket = await newBucket(server, "hangint");
  const client = sdkClient(server);
  await using gateway = await startGateway(server);
  await using dir = await tempDir();
  try {
    const src = join(dir.path, "sstate");
    await archives(src, 2, 100 * 1024 * 1024, "large");
    const url = `s3://${bucket}/cache`;
    const run = spawnTool(["upload", src, url], envFor(server, dir.path, gateway.endpoint));
    await untilMultipart(client, bucket);
    gateway.signal("SIGSTOP");
    run.child.kill("SIGINT");
    await run.untilError(/^interrupted: finishing/m);
    run.child.kill("SIGINT");
    // Without a bound on the cleanup this waited for the hung gateway for minutes.
    const { code, stdout, stderr } = await run.finish(30_000);
    assert.equal(code, 130, stderr);
    assert.match(stderr, /^interrupted again: stopping now/m);
    // Cut before their completion was sent, the uploads are known not to have stored anything.
    assert.match(
      stdout,
      /^INFO: done: 0 uploaded \(0 B\), 0 present, 0 refreshed, 0 skipped, 0 failed in /m,
    );
    assert.match(stdout, /^WARNING: 2 files were not uploaded: the upload was stopped$/m);

    // The gateway could not be told to abort the upload (killed now, it never reads what was
    // sent to it): clean, through the shared gateway, finds it and aborts it.
    gateway.signal("SIGKILL");
    const left = await multipartUploads(client, bucket);
    assert.ok(left > 0, "the hung gateway kept the multipart upload");
    const env = envFor(server, dir.path, server.endpoint);
    const cleaned = await runTool(["clean", "--max-age", "0s", url], env);
    assert.equal(cleaned.code, 0, cleaned.stdout + cleaned.stderr);
    assert.match(
      cleaned.stdout,
      new RegExp(`^INFO: aborted ${left} unfinished multipart uploads`, "m"),
    );
    assert.equal(await multipartUploads(client, bucket), 0);
  } finally {
    gateway.signal("SIGCONT");
    client.destroy();
    await dropBucket(server, bucket);
  }
});

Deno.test("s3 outage: a gateway killed in the middle of an upload is one line, not one per file", async () => {
  const server = await s3Server();
  const bucket = await newBucket(server, "refused");
  await using gateway = await startGateway(server);
  await using dir = await tempDir();
  try {
    const src = join(dir.path, "sstate");
    const files = await archives(src, 300, 64 * 1024, "pkg");
    const url = `s3://${bucket}/cache`;
    const env = envFor(server, dir.path, gateway.endpoint);
    const run = spawnTool(["upload", "-v", "-j", "4", src, url], env);
    await run.until(/(^\[UPLOAD\] .*\n){8}/m);
    gateway.signal("SIGKILL");
    const { code, stdout, stderr } = await run.finish();
    const all = stdout + stderr;
    assert.equal(code, 1, all);
    const errors = errorLines(all);
    assert.equal(errors.length, 1, all);
    assert.match(
      errors[0],
      new RegExp(
        `^ERROR: cannot connect to s3://${bucket}/cache \\(endpoint ${gateway.endpoint}\\): ` +
          "connection refused; stopping the upload$",
      ),
    );
    const done = /^INFO: done: (\d+) uploaded .* (\d+) failed in /m.exec(stdout);
    assert.ok(done, stdout);
    assert.ok(Number(done[1]) < files.length);
    assert.match(stdout, /^WARNING: \d+ files were not uploaded: the upload was stopped/m);
  } finally {
    await dropBucket(server, bucket);
  }
});
