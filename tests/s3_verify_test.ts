/**
 * The check after every S3 upload, through a proxy in front of radosgw that makes the stored
 * object differ from the file sent: a put whose ETag is not the MD5 of the bytes sent, or whose
 * stored size is not the file's, fails with one line and leaves no object behind.
 */
import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { BackendError } from "../src/backends/backend.ts";
import { MULTIPART_THRESHOLD, S3Backend } from "../src/backends/s3/s3.ts";
import { BUFFERED_BODY_MAX } from "../src/backends/s3/body.ts";
import { localFile, pattern } from "./backend_conformance.ts";
import { dropBucket, newBucket, openS3, s3Server, sdkClient, settingsFor } from "./servers/ceph.ts";
import { type FaultProxyOptions, startFaultProxy } from "./servers/request_fault_proxy.ts";

/** A bucket, a backend on `s3://bucket/cache` through a proxy with `faults`, and one direct. */
async function throughProxy(
  tag: string,
  faults: (bucket: string) => Omit<FaultProxyOptions, "targetPort">,
  fn: (ctx: { proxied: S3Backend; direct: S3Backend; scratch: string }) => Promise<void>,
): Promise<void> {
  const server = await s3Server();
  const bucket = await newBucket(server, tag);
  await using proxy = startFaultProxy({
    targetPort: Number(new URL(server.endpoint).port),
    ...faults(bucket),
  });
  const proxied = new S3Backend(`s3://${bucket}/cache`, {
    s3Endpoint: `http://127.0.0.1:${proxy.port}`,
  }, settingsFor(server));
  const direct = openS3(server, `s3://${bucket}/cache`);
  const scratch = await Deno.makeTempDir({ prefix: "isar-sstate-s3-" });
  try {
    await fn({ proxied, direct, scratch });
  } finally {
    await proxied.close();
    await direct.close();
    await dropBucket(server, bucket);
    await Deno.remove(scratch, { recursive: true });
  }
}

/** The BackendError that `p` rejects with. */
async function rejection(p: Promise<unknown>): Promise<BackendError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof BackendError, String(err));
    return err;
  }
  throw new Error("expected the put to fail");
}

Deno.test("s3: a put whose stored bytes differ from the file's (ETag check) fails, removed", async () => {
  const corrupted: string[] = [];
  await throughProxy("etag", (bucket) => ({
    corrupt: (head) => {
      const bad = head.method === "PUT" && head.path.startsWith(`/${bucket}/cache/aa/bad`);
      if (bad) corrupted.push(head.path);
      return bad;
    },
  }), async ({ proxied, direct, scratch }) => {
    // From memory and streamed from the file.
    for (const size of [300_000, BUFFERED_BODY_MAX + 12345]) {
      const src = await localFile(scratch, `f${size}`, pattern(size, 3));
      const err = await rejection(proxied.put(`aa/bad${size}`, src, { ifAbsent: true }));
      assert.match(
        err.message,
        new RegExp(
          `^aa/bad${size}: the stored object differs from the file sent ` +
            "\\(ETag [0-9a-f]{32}, MD5 [0-9a-f]{32}\\); removed it$",
        ),
      );
      assert.equal(await direct.stat(`aa/bad${size}`), null, "the bad object was removed");
      assert.equal(await proxied.put(`aa/good${size}`, src, { ifAbsent: true }), "stored");
      assert.deepEqual(await direct.read(`aa/good${size}`), pattern(size, 3));
    }
    assert.equal(corrupted.length, 2, "one corrupted request per bad put (no retry)");
  });
});

Deno.test("s3: a multipart put whose stored size differs from the file's fails, removed", async () => {
  const server = await s3Server();
  const client = sdkClient(server);
  let completed = false;
  let replaced = 0;
  try {
    await throughProxy("size", (bucket) => ({
      // Once the upload is completed, a shorter object takes its place before the check.
      beforeForward: async (head) => {
        if (head.method === "POST" && head.path.includes("uploadId=")) completed = true;
        if (head.method !== "HEAD" || !completed || replaced > 0) return;
        replaced++;
        await client.send(
          new PutObjectCommand({ Bucket: bucket, Key: "cache/aa/large", Body: "short" }),
        );
      },
    }), async ({ proxied, direct, scratch }) => {
      const size = MULTIPART_THRESHOLD + 1234;
      const src = await localFile(scratch, "large", pattern(size, 5));
      const err = await rejection(proxied.put("aa/large", src, { ifAbsent: true }));
      assert.equal(err.message, `aa/large: stored 5 bytes instead of ${size}; removed it`);
      assert.equal(replaced, 1);
      assert.equal(await direct.stat("aa/large"), null, "the bad object was removed");
    });
  } finally {
    client.destroy();
  }
});
