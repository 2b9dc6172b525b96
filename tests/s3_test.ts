/**
 * S3-specific behaviour on a real radosgw: complete and parallel listings, batch deletes,
 * one request per small upload, multipart uploads, create-only races, aborts, and errors that
 * name the bucket but never a secret. Requests are counted at the SDK client.
 */
import assert from "node:assert/strict";
import { ListMultipartUploadsCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { BackendError, isAbortError, MAX_BULK_DELETE } from "../src/backends/backend.ts";
import { MULTIPART_THRESHOLD, S3Backend } from "../src/backends/s3/s3.ts";
import { collect, localFile, pattern } from "./backend_conformance.ts";
import {
  countRequests,
  dropBucket,
  newBucket,
  newBucketName,
  openS3,
  type S3Server,
  s3Server,
  sdkClient,
  setDeletePolicy,
  settingsFor,
} from "./servers/ceph.ts";

/** A fresh bucket with a backend on `s3://bucket/cache`, dropped afterwards. */
async function withBucket(
  tag: string,
  fn: (ctx: {
    server: S3Server;
    bucket: string;
    backend: S3Backend;
    client: S3Client;
    scratch: string;
  }) => Promise<void>,
): Promise<void> {
  const server = await s3Server();
  const bucket = await newBucket(server, tag);
  const backend = openS3(server, `s3://${bucket}/cache`);
  const client = sdkClient(server);
  const scratch = await Deno.makeTempDir({ prefix: "isar-sstate-s3-" });
  try {
    await fn({ server, bucket, backend, client, scratch });
  } finally {
    await backend.close();
    client.destroy();
    await dropBucket(server, bucket);
    await Deno.remove(scratch, { recursive: true });
  }
}

/** Stores `keys` (empty objects) directly, 32 at a time. */
async function putKeys(client: S3Client, bucket: string, keys: string[]): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < keys.length) {
      const Key = keys[next++];
      await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: new Uint8Array(0) }));
    }
  }));
}

function hex2(n: number): string {
  return (n & 0xff).toString(16).padStart(2, "0");
}

async function pendingUploads(client: S3Client, bucket: string): Promise<number> {
  const out = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return out.Uploads?.length ?? 0;
}

Deno.test("s3: lists 3,600 keys completely: pages, 256 hash prefixes in parallel, native trees", async () => {
  await withBucket("list", async ({ bucket, backend, client }) => {
    const expected: string[] = [];
    // More than two pages inside a single hash directory.
    for (let i = 0; i < 2200; i++) expected.push(`00/11/sstate:big-${i}`);
    // Every other top-level hash directory.
    for (let i = 0; i < 1300; i++) expected.push(`${hex2(1 + (i % 255))}/${hex2(i)}/sstate:p-${i}`);
    // A native tree one level deeper, and files at the top.
    for (let i = 0; i < 150; i++) {
      const native = i % 2 ? "debian-bookworm-x86_64" : "ubuntu-jammy-x86_64";
      expected.push(`${native}/${hex2(i)}/aa/n-${i}`);
    }
    for (let i = 0; i < 5; i++) expected.push(`top-${i}`);
    const outside = ["other/x", "cache-old/00/y", "cachex", "cache/aa//bad", "cache/marker/"];
    await putKeys(client, bucket, [...expected.map((p) => `cache/${p}`), ...outside]);

    const requests = countRequests(backend.client);
    const warnings: string[] = [];
    const seen: string[] = [];
    for await (const batch of backend.list({ onWarning: (w) => warnings.push(w) })) {
      seen.push(...batch.map((e) => e.path));
    }
    assert.equal(seen.length, expected.length, "no key listed twice or missed");
    assert.deepEqual(seen.sort(), expected.sort());
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0], /cache\/aa\/\/bad/);
    const lists = requests.counts.get("ListObjectsV2Command") ?? 0;
    // One flat page, one delimiter listing, then the 256 hash directories (and the native tree,
    // whose name starts with a hex digit) in 16 groups by their first character.
    assert.ok(lists >= 2 + 16, `${lists} list requests`);
    assert.ok((requests.maxInFlight.get("ListObjectsV2Command") ?? 0) > 1, "listed in parallel");
  });
});

Deno.test("s3: a tree of one page is listed with one request, with sizes and times", async () => {
  await withBucket("small", async ({ backend, scratch }) => {
    const src = await localFile(scratch, "f", pattern(1234));
    const before = Date.now() - 5_000;
    for (let i = 0; i < 30; i++) await backend.put(`${hex2(i * 7)}/aa/f${i}`, src);
    const requests = countRequests(backend.client);
    const entries = await collect(backend);
    assert.equal(entries.length, 30);
    assert.ok(entries.every((e) => e.size === 1234 && e.mtime >= before));
    assert.deepEqual([...requests.counts], [["ListObjectsV2Command", 1]]);
  });
});

Deno.test("s3: a small file takes one request, unsigned, a create-only put onto it one more", async () => {
  await withBucket("put", async ({ backend, scratch }) => {
    const requests = countRequests(backend.client);
    const payloadHashes: string[] = [];
    backend.client.middlewareStack.add(
      // deno-lint-ignore no-explicit-any
      (next: any) => (args: any) => {
        payloadHashes.push(args.request.headers["x-amz-content-sha256"]);
        return next(args);
      },
      { step: "deserialize", name: "payloadHashes" },
    );
    const src = await localFile(scratch, "f", pattern(300_000));
    assert.equal(await backend.put("aa/bb/one", src, { ifAbsent: true }), "stored");
    assert.deepEqual([...requests.counts], [["PutObjectCommand", 1]]);
    // Sent from memory, yet not hashed with SHA-256 for the signature: the ETag checks it.
    assert.deepEqual(payloadHashes, ["UNSIGNED-PAYLOAD"]);
    const other = await localFile(scratch, "g", pattern(10, 9));
    assert.equal(await backend.put("aa/bb/one", other, { ifAbsent: true }), "exists");
    assert.deepEqual([...requests.counts], [["PutObjectCommand", 2]]);
    assert.deepEqual(await backend.read("aa/bb/one"), pattern(300_000));
  });
});

Deno.test("s3: deleteMany removes 1,000 keys with one DeleteObjects request", async () => {
  await withBucket("del", async ({ bucket, backend, client }) => {
    const paths = Array.from({ length: 990 }, (_, i) => `${hex2(i)}/${hex2(i >> 8)}/f-${i}`);
    await putKeys(client, bucket, paths.map((p) => `cache/${p}`));
    const doomed = [...paths, ...Array.from({ length: 10 }, (_, i) => `missing/m-${i}`)];
    assert.equal(doomed.length, MAX_BULK_DELETE);
    const requests = countRequests(backend.client);
    const outcomes = await backend.deleteMany(doomed);
    assert.deepEqual([...requests.counts], [["DeleteObjectsCommand", 1]]);
    assert.deepEqual(outcomes.map((o) => o.path), doomed);
    assert.ok(outcomes.every((o) => !o.error));
    assert.deepEqual(await collect(backend), []);
    await assert.rejects(
      () => backend.deleteMany([...doomed, "one-too-many"]),
      /at most 1000/,
    );
  });
});

Deno.test("s3: deleteMany reports the keys the store refused, and deletes the rest", async () => {
  await withBucket("deny", async ({ bucket, backend, client }) => {
    await putKeys(client, bucket, ["cache/keep/a", "cache/keep/b", "cache/free/c"]);
    await setDeletePolicy(client, bucket, "Deny", "cache/keep/*");
    const outcomes = await backend.deleteMany(["keep/a", "free/c", "keep/b", "../bad"]);
    assert.deepEqual(outcomes.map((o) => o.path), ["keep/a", "free/c", "keep/b", "../bad"]);
    assert.equal(outcomes[1].error, undefined);
    for (const i of [0, 2]) {
      // One file's error, just the reason: the caller names the path.
      assert.ok(outcomes[i].error instanceof BackendError);
      assert.equal(outcomes[i].error!.scope, "file");
      assert.equal(outcomes[i].error!.code, "AccessDenied");
      assert.equal(outcomes[i].error!.message, "AccessDenied");
    }
    assert.match(outcomes[3].error!.message, /outside the cache root/);
    assert.deepEqual((await collect(backend)).map((e) => e.path), ["keep/a", "keep/b"]);
    await setDeletePolicy(client, bucket, "Allow", "*");
  });
});

const LARGE = MULTIPART_THRESHOLD + 6 * 1024 * 1024 + 123;

Deno.test("s3: a large file goes up in parallel parts, verified, no parts left", async () => {
  await withBucket("mp", async ({ bucket, backend, client, scratch }) => {
    const data = pattern(LARGE, 11);
    const src = await localFile(scratch, "large", data);
    const requests = countRequests(backend.client);
    assert.equal(await backend.put("aa/bb/large.tar.zst", src, { ifAbsent: true }), "stored");
    const parts = requests.counts.get("UploadPartCommand") ?? 0;
    assert.equal(parts, Math.ceil(LARGE / (16 * 1024 * 1024)));
    assert.ok((requests.maxInFlight.get("UploadPartCommand") ?? 0) > 1, "parts in parallel");
    assert.equal(requests.counts.get("CompleteMultipartUploadCommand"), 1);
    assert.equal(requests.counts.get("PutObjectCommand"), undefined);
    assert.deepEqual(await backend.read("aa/bb/large.tar.zst"), data);
    assert.equal(await pendingUploads(client, bucket), 0);

    // Create-only onto the existing object: found by one HeadObject, no part sent.
    const again = countRequests(backend.client);
    const other = await localFile(scratch, "other", pattern(LARGE, 12));
    assert.equal(await backend.put("aa/bb/large.tar.zst", other, { ifAbsent: true }), "exists");
    assert.equal(again.counts.get("UploadPartCommand"), undefined, "no part sent");
    assert.equal(again.counts.get("CreateMultipartUploadCommand"), undefined);
    assert.deepEqual(await backend.read("aa/bb/large.tar.zst"), data);
  });
});

Deno.test("s3: a multipart put loses to a writer who stores the key meanwhile", async () => {
  await withBucket("race", async ({ bucket, backend, client, scratch }) => {
    const src = await localFile(scratch, "large", pattern(LARGE, 21));
    let injected = false;
    // The rival stores the key while our parts are on their way.
    backend.client.middlewareStack.add(
      // deno-lint-ignore no-explicit-any
      (next: any, context: any) => async (args: any) => {
        if (context.commandName === "UploadPartCommand" && !injected) {
          injected = true;
          await client.send(
            new PutObjectCommand({ Bucket: bucket, Key: "cache/aa/race", Body: "rival" }),
          );
        }
        return next(args);
      },
      { step: "initialize", name: "rival" },
    );
    assert.equal(await backend.put("aa/race", src, { ifAbsent: true }), "exists");
    assert.ok(injected);
    assert.deepEqual(await backend.read("aa/race"), new TextEncoder().encode("rival"));
    assert.equal(await pendingUploads(client, bucket), 0, "the upload was aborted");
  });
});

Deno.test("s3: an aborted multipart put stores nothing and leaves no parts", async () => {
  await withBucket("mpabort", async ({ bucket, backend, client, scratch }) => {
    const src = await localFile(scratch, "large", pattern(LARGE, 31));
    const ctl = new AbortController();
    backend.client.middlewareStack.add(
      // deno-lint-ignore no-explicit-any
      (next: any, context: any) => (args: any) => {
        if (context.commandName === "UploadPartCommand") setTimeout(() => ctl.abort(), 20);
        return next(args);
      },
      { step: "initialize", name: "abortDuringParts" },
    );
    await assert.rejects(
      () => backend.put("aa/aborted", src, { signal: ctl.signal, ifAbsent: true }),
      isAbortError,
    );
    assert.equal(await backend.stat("aa/aborted"), null);
    assert.equal(await pendingUploads(client, bucket), 0);
  });
});

Deno.test("s3: an aborted listing stops in the middle", async () => {
  await withBucket("listabort", async ({ bucket, backend, client }) => {
    await putKeys(client, bucket, Array.from({ length: 1500 }, (_, i) => `cache/${hex2(i)}/f${i}`));
    const ctl = new AbortController();
    let n = 0;
    await assert.rejects(async () => {
      for await (const batch of backend.list({ signal: ctl.signal })) {
        n += batch.length;
        ctl.abort(); // after the first page
      }
    }, isAbortError);
    assert.ok(n > 0 && n < 1500, `${n} listed`);
  });
});

/** Checks an error is one line naming the bucket, with neither secret in it. */
function assertTargetError(err: unknown, bucket: string, server: S3Server, pattern: RegExp) {
  assert.ok(err instanceof BackendError, String(err));
  assert.equal(err.scope, "target");
  assert.ok(!err.message.includes("\n"), err.message);
  assert.match(err.message, pattern);
  assert.ok(err.message.includes(bucket), err.message);
  for (const secret of [server.secretAccessKey, server.other.secretAccessKey, "wrong-secret"]) {
    assert.ok(!err.message.includes(secret), "no secret in the message");
  }
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

Deno.test("s3: bad credentials, other users' buckets and missing buckets fail the target", async () => {
  const server = await s3Server();
  const scratch = await Deno.makeTempDir({ prefix: "isar-sstate-s3-" });
  const src = await localFile(scratch, "f", pattern(100));
  const open = (url: string, accessKeyId: string, secretAccessKey: string) =>
    new S3Backend(url, {}, {
      ...settingsFor(server),
      credentials: { accessKeyId, secretAccessKey },
    });
  const url = `s3://${server.bucket}/cache`;
  const cases: [string, S3Backend, RegExp][] = [
    ["wrong secret", open(url, server.accessKeyId, "wrong-secret"), /secret access key/],
    ["unknown key", open(url, "NOSUCHKEY00000000000", "wrong-secret"), /access key ID/],
    ["other user", open(url, server.other.accessKeyId, server.other.secretAccessKey), /denied/],
  ];
  try {
    for (const [name, backend, pattern] of cases) {
      assertTargetError(await rejection(backend.exists()), server.bucket, server, pattern);
      const listing = (async () => {
        for await (const _ of backend.list()) { /* drain */ }
      })();
      assertTargetError(await rejection(listing), server.bucket, server, pattern);
      assertTargetError(await rejection(backend.put("a/b", src)), server.bucket, server, pattern);
      await backend.close();
      assert.ok(name);
    }
    const missing = newBucketName("missing");
    const backend = openS3(server, `s3://${missing}/cache`);
    assert.equal(await backend.exists(), false);
    const listing = (async () => {
      for await (const _ of backend.list()) { /* drain */ }
    })();
    assertTargetError(await rejection(listing), missing, server, /does not exist/);
    assertTargetError(await rejection(backend.put("a/b", src)), missing, server, /does not exist/);
    await backend.close();
  } finally {
    for (const [, backend] of cases) await backend.close();
    await Deno.remove(scratch, { recursive: true });
  }
});

Deno.test("s3: an unreachable endpoint fails exists() for the target, after retries", async () => {
  const server = await s3Server();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close(); // nothing listens there now
  const backend = new S3Backend(
    `s3://${server.bucket}`,
    { s3Endpoint: `http://127.0.0.1:${port}` },
    {
      ...settingsFor(server),
    },
  );
  const requests = countRequests(backend.client);
  try {
    const err = await rejection(backend.exists());
    assert.ok(err instanceof BackendError);
    assert.equal(err.scope, "target");
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.ok((requests.counts.get("ListObjectsV2Command") ?? 0) > 1, "retried");
  } finally {
    await backend.close();
  }
});

Deno.test("s3: create() refuses a missing bucket (no typo becomes a bucket); a prefix needs nothing", async () => {
  const server = await s3Server();
  const missing = openS3(server, `s3://${newBucketName("typo")}/deep/prefix`);
  try {
    assert.equal(await missing.exists(), false);
    await assert.rejects(
      () => missing.create(),
      (err: BackendError) =>
        err.scope === "target" &&
        /bucket 't-typo-.*' does not exist .*create it first/.test(err.message),
    );
    assert.equal(await missing.exists(), false, "nothing was created");
  } finally {
    await missing.close();
  }
  const bucket = await newBucket(server, "create");
  const backend = openS3(server, `s3://${bucket}/deep/prefix`);
  try {
    assert.equal(await backend.exists(), true, "an empty prefix of an existing bucket exists");
    await backend.create();
    assert.deepEqual(await collect(backend), []);
  } finally {
    await backend.close();
    await dropBucket(server, bucket);
  }
});
