/**
 * Retention by last use end to end on a real radosgw: refreshes (a copy of each used object onto
 * itself), clean by last use, the size quota, stamps and newest versions, and a clean racing an
 * upload's refreshes. Requests are counted in radosgw's own log.
 */
import assert from "node:assert/strict";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { S3Backend } from "../src/backends/s3/s3.ts";
import { pattern } from "./backend_conformance.ts";
import {
  dropBucket,
  newBucket,
  openS3,
  s3Server,
  sdkClient,
  serverRequests,
  settingsFor,
} from "./servers/ceph.ts";
import {
  policyScenario,
  racingCleanScenario,
  refreshScenario,
  type ScenarioTarget,
} from "./retention_scenario.ts";

/** Deno's cache as it is, whatever HOME the tool runs with. */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;

/** A fresh bucket's prefix; the tool gets credentials and endpoint from the environment. */
async function s3(tag: string): Promise<ScenarioTarget> {
  const server = await s3Server();
  const bucket = await newBucket(server, tag);
  const url = `s3://${bucket}/sstate`;
  return {
    url,
    env: {
      HOME: Deno.env.get("HOME") ?? "/tmp",
      DENO_DIR,
      AWS_ACCESS_KEY_ID: server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
      AWS_ENDPOINT_URL_S3: server.endpoint,
      AWS_EC2_METADATA_DISABLED: "true",
      NO_COLOR: "1",
    },
    open: () => openS3(server, url),
    async requestsDuring(fn) {
      const before = (await serverRequests(server, bucket)).length;
      const result = await fn();
      return [result, (await serverRequests(server, bucket)).slice(before)];
    },
  };
}

Deno.test("s3 retention: upload refreshes what the build used; clean keeps exactly that", async () =>
  refreshScenario(await s3("refresh")));

Deno.test("s3 retention: --keep-newest, --max-size in LRU order, --keep-stamps", async () =>
  policyScenario(await s3("policy")));

Deno.test("s3 retention: a refresh that finds its object deleted by a clean uploads it", async () =>
  racingCleanScenario((await s3("race")).open));

/**
 * A refresh keeps what the object carries besides its data (content type, user metadata) and
 * gives it a new `LastModified`, both by one CopyObject and, above the copy limit (5 GiB on S3,
 * 6 MiB here), by a multipart copy onto itself; no parts are left behind.
 */
for (
  const [what, copyLimit] of [["one copy", undefined], ["a multipart copy", 6 * 1024 ** 2]] as const
) {
  Deno.test(`s3 markUsed by ${what}: new LastModified, content type and metadata kept`, async () => {
    const server = await s3Server();
    const bucket = await newBucket(server, "touch");
    const client = sdkClient(server);
    const key = "cache/ab/cd/sstate:big:arm64-isar:1:r0:arm64:10:abcd_rootfs_install.tar.zst";
    const data = pattern(13 * 1024 * 1024 + 17, 4);
    const backend = new S3Backend(`s3://${bucket}/cache`, {}, {
      ...settingsFor(server),
      copyLimit,
      copyPartSize: 5 * 1024 ** 2,
    });
    try {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: data,
          ContentType: "application/x-sstate",
          Metadata: { origin: "ci-42" },
        }),
      );
      const before = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      await new Promise((r) => setTimeout(r, 2_100));
      assert.equal(await backend.markUsed(key.slice("cache/".length)), true);
      const after = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      assert.ok(after.LastModified! > before.LastModified!, "a new LastModified");
      assert.equal(after.ContentType, "application/x-sstate");
      assert.deepEqual(after.Metadata, { origin: "ci-42" });
      assert.equal(after.ContentLength, data.length);
      const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      assert.deepEqual(await body.Body!.transformToByteArray(), data);
      const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      assert.deepEqual(uploads.Uploads ?? [], [], "no parts left behind");
    } finally {
      await backend.close();
      client.destroy();
      await dropBucket(server, bucket);
    }
  });
}
