/**
 * Interrupted runs against S3 (radosgw) report what the bucket holds: after a second Ctrl-C the
 * summaries of `upload` and `clean` agree with a listing (requests cut in flight are checked,
 * or counted as unknown), and the multipart upload of a killed run is left to `clean`, which
 * aborts it once it is MAX_AGE old.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ListMultipartUploadsCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { collect } from "./backend_conformance.ts";
import { runTool, spawnTool, tempDir } from "./helpers.ts";
import {
  dropBucket,
  newBucket,
  openS3,
  type S3Server,
  s3Server,
  sdkClient,
} from "./servers/ceph.ts";

/** Deno's cache as it is, whatever HOME the tool runs with. */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;

function envFor(server: S3Server, home: string) {
  return {
    HOME: home,
    DENO_DIR,
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_ENDPOINT_URL_S3: server.endpoint,
    AWS_EC2_METADATA_DISABLED: "true",
    NO_COLOR: "1",
  };
}

/** The cache path of the i-th archive of `tag`. */
function archivePath(i: number, tag: string): string {
  const hash = `${(i & 0xffff).toString(16).padStart(4, "0")}${"0".repeat(60)}`;
  return `${hash.slice(0, 2)}/${hash.slice(2, 4)}/sstate:${tag}${i}:arm64-isar:1.0:r0:arm64:10:` +
    `${hash}_dpkg_build.tar.zst`;
}

/** A number from the first match of `re` in `text` (0 when it does not match). */
function count(text: string, re: RegExp): number {
  return Number(re.exec(text)?.[1] ?? 0);
}

/** The keys below `cache/` of `bucket` once the store has been quiet for a while. */
async function settledListing(server: S3Server, bucket: string): Promise<string[]> {
  const backend = openS3(server, `s3://${bucket}/cache`);
  try {
    let last = -1;
    for (let i = 0; i < 60; i++) {
      const paths = (await collect(backend)).map((e) => e.path);
      if (paths.length === last) return paths;
      last = paths.length;
      await new Promise((r) => setTimeout(r, 2000));
    }
    throw new Error("the bucket did not settle");
  } finally {
    await backend.close();
  }
}

Deno.test("s3 interrupt: after a second Ctrl-C, upload's counts are what the bucket holds", async () => {
  const server = await s3Server();
  const bucket = await newBucket(server, "intup");
  await using dir = await tempDir();
  try {
    const src = join(dir.path, "sstate");
    const total = 200;
    const data = new Uint8Array(48 * 1024).map((_, i) => i & 0xff);
    for (let i = 0; i < total; i++) {
      const path = join(src, archivePath(i, "up"));
      await Deno.mkdir(join(path, ".."), { recursive: true });
      await Deno.writeFile(path, data);
    }
    const run = spawnTool(
      ["upload", "-v", src, `s3://${bucket}/cache`],
      envFor(server, dir.path),
    );
    await run.until(/(^\[UPLOAD\] .*\n){40}/m);
    run.child.kill("SIGINT");
    await run.untilError(/^interrupted: finishing/m);
    run.child.kill("SIGINT");
    const { code, stdout, stderr } = await run.finish();
    assert.equal(code, 130, stdout + stderr);
    const uploaded = count(stdout, /^INFO: done: (\d+) uploaded /m);
    const notUploaded = count(stdout, /^WARNING: (\d+) files were not uploaded/m);
    const unknown = count(stdout, /^WARNING: (\d+) files may or may not have been uploaded/m);
    assert.match(stdout, /^INFO: done: \d+ uploaded .* 0 failed in /m);
    assert.equal(uploaded + notUploaded + unknown, total, stdout);
    const stored = (await settledListing(server, bucket)).length;
    assert.ok(
      uploaded <= stored && stored <= uploaded + unknown,
      `${uploaded} uploaded, ${unknown} unknown, and the bucket holds ${stored}:\n${stdout}`,
    );
    assert.ok(uploaded < total, "interrupted before the end");
  } finally {
    await dropBucket(server, bucket);
  }
});

Deno.test("s3 interrupt: after a second Ctrl-C, clean's counts are what the bucket holds", async () => {
  const server = await s3Server();
  const bucket = await newBucket(server, "intclean");
  const client = sdkClient(server);
  await using dir = await tempDir();
  try {
    const total = 3000;
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < total) {
        const Key = `cache/${archivePath(next++, "cl")}`;
        await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: new Uint8Array(0) }));
      }
    }));
    const run = spawnTool(
      ["clean", "-v", "--max-age", "0s", `s3://${bucket}/cache`],
      envFor(server, dir.path),
    );
    await run.until(/^\[DELETE\] /m);
    run.child.kill("SIGINT");
    await run.untilError(/^interrupted: finishing/m);
    run.child.kill("SIGINT");
    const { code, stdout, stderr } = await run.finish();
    assert.equal(code, 130, stdout + stderr);
    const deleted = count(stdout, /^INFO: done: (\d+) deleted, 0 failed/m);
    const notDeleted = count(stdout, /^WARNING: (\d+) files were not deleted/m);
    const unknown = count(stdout, /^WARNING: (\d+) files may or may not have been deleted/m);
    assert.match(stdout, /^INFO: done: \d+ deleted, 0 failed, /m);
    assert.equal(deleted + notDeleted + unknown, total, stdout);
    // The store goes on with requests it had whole when they were cut: wait until it is done.
    const gone = total - (await settledListing(server, bucket)).length;
    assert.ok(
      deleted <= gone && gone <= deleted + unknown,
      `${deleted} deleted, ${unknown} unknown, and ${gone} are gone:\n${stdout}`,
    );
  } finally {
    client.destroy();
    await dropBucket(server, bucket);
  }
});

Deno.test("s3 interrupt: a killed upload's multipart upload is aborted by clean once MAX_AGE old", async () => {
  const server = await s3Server();
  const bucket = await newBucket(server, "orphan");
  const client = sdkClient(server);
  await using dir = await tempDir();
  const uploads = async () =>
    (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
  try {
    const src = join(dir.path, "sstate");
    const path = archivePath(1, "big");
    await Deno.mkdir(join(src, path, ".."), { recursive: true });
    await Deno.writeFile(join(src, path), new Uint8Array(100 * 1024 * 1024).fill(7));
    const url = `s3://${bucket}/cache`;
    const env = envFor(server, dir.path);
    const run = spawnTool(["upload", src, url], env);
    for (let i = 0; i < 600 && (await uploads()).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    run.child.kill("SIGKILL");
    await run.finish();
    assert.deepEqual((await uploads()).map((u) => u.Key), [`cache/${path}`], "left behind");

    const info = await runTool(["info", url], env);
    assert.match(info.stdout, /^INFO: found 1 unfinished multipart uploads left by interrupted /m);
    // Younger than the default MAX_AGE (1d): left alone.
    const young = await runTool(["clean", url], env);
    assert.equal(young.code, 0, young.stdout + young.stderr);
    assert.doesNotMatch(young.stdout, /multipart/);
    const dry = await runTool(["clean", "--dry-run", "--max-age", "0s", url], env);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    assert.match(dry.stdout, /^INFO: found 1 unfinished multipart uploads older than 0s /m);
    assert.match(dry.stdout, new RegExp(`^\\[ABORT\\] ${path.replace(/[.]/g, "\\.")}$`, "m"));
    assert.match(dry.stdout, /^INFO: dry run: would abort 1 unfinished multipart uploads$/m);
    assert.equal((await uploads()).length, 1, "a dry run aborts nothing");

    const cleaned = await runTool(["clean", "--max-age", "0s", url], env);
    assert.equal(cleaned.code, 0, cleaned.stdout + cleaned.stderr);
    assert.match(cleaned.stdout, /^INFO: aborted 1 unfinished multipart uploads$/m);
    assert.deepEqual(await uploads(), []);
  } finally {
    client.destroy();
    await dropBucket(server, bucket);
  }
});
