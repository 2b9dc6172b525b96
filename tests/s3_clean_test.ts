/**
 * `clean` on S3 when deletes are refused: keys that a DeleteObjects response reports as not
 * deleted are one ERROR line each and the clean goes on (a bucket policy on radosgw refuses
 * them); a DeleteObjects request refused as a whole (answered by a proxy) stops the clean with
 * one line.
 */
import assert from "node:assert/strict";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { keyError, s3Error } from "../src/backends/s3/errors.ts";
import { collect } from "./backend_conformance.ts";
import { runTool, tempDir } from "./helpers.ts";
import {
  dropBucket,
  newBucket,
  openS3,
  type S3Server,
  s3Server,
  sdkClient,
  serverRequests,
  setDeletePolicy,
} from "./servers/ceph.ts";
import { startFaultProxy } from "./servers/request_fault_proxy.ts";

/** Deno's cache as it is, whatever HOME the tool runs with. */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
/** More than one DeleteObjects batch. */
const COUNT = 1200;

function hex2(n: number): string {
  return (n & 0xff).toString(16).padStart(2, "0");
}

/** The cache path of the i-th archive: in hash directory `dd` if i is a multiple of 100. */
function archivePath(i: number): string {
  const hash = `${i % 100 === 0 ? "dd" : hex2(i % 200)}${hex2(i >> 8)}${"0".repeat(60)}`;
  const name = `sstate:pkg-${i}:arm64-isar:1.0:r0:arm64:10:${hash}_dpkg_build.tar.zst`;
  return `${hash.slice(0, 2)}/${hash.slice(2, 4)}/${name}`;
}

/** Stores COUNT empty archives below `cache/` of `bucket`, 32 at a time; returns their paths. */
async function storeArchives(client: S3Client, bucket: string): Promise<string[]> {
  const paths = Array.from({ length: COUNT }, (_, i) => archivePath(i));
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < paths.length) {
      const Key = `cache/${paths[next++]}`;
      await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: new Uint8Array(0) }));
    }
  }));
  return paths;
}

/** Runs `clean --max-age 0s --jobs 1 s3://bucket/cache` with `server`'s credentials. */
async function clean(server: S3Server, bucket: string, endpoint = server.endpoint) {
  await using home = await tempDir();
  const args = ["clean", "--max-age", "0s", "--jobs", "1", `s3://${bucket}/cache`];
  const run = await runTool(args, {
    HOME: home.path,
    DENO_DIR,
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_EC2_METADATA_DISABLED: "true",
    NO_COLOR: "1",
  });
  const errors = run.stdout.split("\n").filter((l) => l.startsWith("ERROR:"));
  return { ...run, errors, all: run.stdout + run.stderr };
}

Deno.test("s3 errors: a key refused in a DeleteObjects answer concerns that file only", () => {
  const denied = keyError("AccessDenied", "Access Denied");
  assert.equal(denied.scope, "file");
  assert.equal(denied.code, "AccessDenied");
  assert.equal(denied.message, "Access Denied (AccessDenied)");
  assert.equal(keyError("InternalError", undefined).message, "InternalError");
  assert.equal(keyError("InternalError", undefined).scope, "file");
  // The same code for a request as a whole stops the target.
  const request = {
    name: "AccessDenied",
    message: "Access Denied",
    $metadata: { httpStatusCode: 403 },
  };
  const target = { bucket: "b", displayUrl: "s3://b/cache" };
  assert.equal(s3Error(request, "cannot delete 3 objects", target).scope, "target");
});

Deno.test("s3 clean: each key refused inside DeleteObjects is one ERROR line; the rest go", async () => {
  const server = await s3Server();
  const bucket = await newBucket(server, "cleandeny");
  const client = sdkClient(server);
  const backend = openS3(server, `s3://${bucket}/cache`);
  try {
    const paths = await storeArchives(client, bucket);
    const denied = paths.filter((p) => p.startsWith("dd/")).sort();
    assert.equal(denied.length, COUNT / 100);
    await setDeletePolicy(client, bucket, "Deny", "cache/dd/*");
    const start = (await serverRequests(server, bucket)).length;
    const run = await clean(server, bucket);
    assert.equal(run.code, 1, run.all);
    const refused = run.errors.map((line) => {
      const path = /^ERROR: cannot delete (\S+): AccessDenied$/.exec(line)?.[1];
      assert.ok(path, line);
      return path;
    });
    assert.deepEqual(refused.sort(), denied);
    assert.doesNotMatch(run.all, /stopping the clean|were not deleted/);
    assert.match(
      run.stdout,
      new RegExp(
        `^INFO: done: ${COUNT - denied.length} deleted, ${denied.length} failed, freed `,
        "m",
      ),
    );
    const deletes = (await serverRequests(server, bucket)).slice(start)
      .filter((r) => r.startsWith("POST "));
    assert.equal(deletes.length, Math.ceil(COUNT / 1000), deletes.join("\n"));
    assert.deepEqual((await collect(backend)).map((e) => e.path).sort(), denied);
  } finally {
    await setDeletePolicy(client, bucket, "Allow", "*");
    client.destroy();
    await backend.close();
    await dropBucket(server, bucket);
  }
});

Deno.test("s3 clean: a DeleteObjects request refused as a whole stops the clean with one line", async () => {
  const server = await s3Server();
  const bucket = await newBucket(server, "cleanstop");
  const client = sdkClient(server);
  const backend = openS3(server, `s3://${bucket}/cache`);
  const cases: [string, number, string, RegExp][] = [
    [
      "AccessDenied",
      403,
      "Access Denied",
      new RegExp(`^ERROR: access denied to s3://${bucket}/cache \\(AccessDenied\\); stopping`),
    ],
    [
      "NoSuchBucket",
      404,
      "The specified bucket does not exist",
      new RegExp(`^ERROR: bucket '${bucket}' does not exist \\(s3://${bucket}/cache\\); stopping`),
    ],
  ];
  try {
    await storeArchives(client, bucket);
    for (const [code, status, message, line] of cases) {
      let refused = 0;
      await using proxy = startFaultProxy({
        targetPort: Number(new URL(server.endpoint).port),
        answer: (head) => {
          if (head.method !== "POST" || !head.path.includes("?delete")) return undefined;
          refused++;
          return {
            status,
            body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code>` +
              `<Message>${message}</Message><BucketName>${bucket}</BucketName></Error>`,
          };
        },
      });
      const run = await clean(server, bucket, `http://127.0.0.1:${proxy.port}`);
      assert.equal(run.code, 1, run.all);
      assert.equal(run.errors.length, 1, run.all);
      assert.match(run.errors[0], line);
      assert.equal(refused, 1, "no further batch was sent");
      assert.match(run.stdout, /^INFO: done: 0 deleted, 1000 failed, /m);
      assert.match(run.all, new RegExp(`WARNING: ${COUNT - 1000} files were not deleted`));
    }
    assert.equal((await collect(backend)).length, COUNT, "nothing was deleted");
  } finally {
    client.destroy();
    await backend.close();
    await dropBucket(server, bucket);
  }
});

/** An archive whose name carries a control character that XML 1.0 cannot carry. */
const CONTROL_KEY = `cc/00/sstate:ctrl\x01x:arm64-isar:1.0:r0:arm64:10:cc00${
  "0".repeat(60)
}_dpkg_build.tar.zst`;

Deno.test("s3 clean: a stored key with a control character is deleted, and so are the batch's others", async () => {
  const server = await s3Server();
  const bucket = await newBucket(server, "cleanctrl");
  const client = sdkClient(server);
  const backend = openS3(server, `s3://${bucket}/cache`);
  try {
    await storeArchives(client, bucket);
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: `cache/${CONTROL_KEY}`, Body: "x" }),
    );
    const listed = (await collect(backend)).map((e) => e.path);
    assert.equal(listed.length, COUNT + 1);
    assert.ok(listed.includes(CONTROL_KEY), "the key is stored and listed as it is");
    const run = await clean(server, bucket);
    assert.equal(run.code, 0, run.all);
    assert.deepEqual(run.errors, []);
    assert.match(run.stdout, new RegExp(`^INFO: done: ${COUNT + 1} deleted, 0 failed, `, "m"));
    assert.deepEqual(await collect(backend), []);
  } finally {
    client.destroy();
    await backend.close();
    await dropBucket(server, bucket);
  }
});

Deno.test("s3 clean: a DeleteObjects request refused as malformed (400) does not keep its keys", async () => {
  const server = await s3Server();
  const bucket = await newBucket(server, "clean400");
  const client = sdkClient(server);
  const backend = openS3(server, `s3://${bucket}/cache`);
  try {
    await storeArchives(client, bucket);
    let refused = 0;
    await using proxy = startFaultProxy({
      targetPort: Number(new URL(server.endpoint).port),
      answer: (head) => {
        if (head.method !== "POST" || !head.path.includes("?delete")) return undefined;
        refused++;
        return {
          status: 400,
          body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>MalformedXML</Code>' +
            "<Message>The XML you provided was not well-formed</Message></Error>",
        };
      },
    });
    const run = await clean(server, bucket, `http://127.0.0.1:${proxy.port}`);
    assert.equal(run.code, 0, run.all);
    assert.deepEqual(run.errors, []);
    assert.equal(refused, Math.ceil(COUNT / 1000), "every batch was refused");
    assert.match(run.stdout, new RegExp(`^INFO: done: ${COUNT} deleted, 0 failed, `, "m"));
    assert.deepEqual(await collect(backend), []);
  } finally {
    client.destroy();
    await backend.close();
    await dropBucket(server, bucket);
  }
});
