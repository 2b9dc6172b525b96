/**
 * The SDK's retries as the only retry layer: through a proxy that answers 503 SlowDown or cuts
 * connections mid-request, every upload still lands intact (streamed bodies included: they are
 * reopened for each attempt), and the listing and the batch delete still complete.
 */
import assert from "node:assert/strict";
import { S3Backend } from "../src/backends/s3/s3.ts";
import { collect, localFile, pattern } from "./backend_conformance.ts";
import { type Fault, FaultProxy } from "./servers/fault_proxy.ts";
import {
  countRequests,
  dropBucket,
  newBucket,
  openS3,
  s3Server,
  settingsFor,
} from "./servers/ceph.ts";

/** Of every 10 connections, 2 get 503 SlowDown and 2 are cut; after 150, all pass. */
function plan(n: number): Fault {
  if (n > 150) return "pass";
  return n % 10 === 3 || n % 10 === 7 ? "slowdown" : n % 10 === 5 || n % 10 === 9 ? "drop" : "pass";
}

Deno.test("s3: through SlowDown answers and cut connections, every object lands intact", async () => {
  const server = await s3Server();
  const bucket = await newBucket(server, "faults");
  const proxy = new FaultProxy(Number(new URL(server.endpoint).port), plan);
  const flaky = new S3Backend(`s3://${bucket}/cache`, {
    s3Endpoint: `http://127.0.0.1:${proxy.port}`,
  }, settingsFor(server));
  const direct = openS3(server, `s3://${bucket}/cache`);
  const scratch = await Deno.makeTempDir({ prefix: "isar-sstate-s3-" });
  try {
    assert.equal(flaky.features.retriesInternally, true);
    const requests = countRequests(flaky.client);
    const files = await Promise.all(
      Array.from(
        { length: 80 },
        (_, i) => localFile(scratch, `f${i}`, pattern(20_000 + i * 997, i)),
      ),
    );
    const large = pattern(70 * 1024 * 1024, 99);
    const largeSrc = await localFile(scratch, "large", large);
    let next = 0;
    const puts = Array.from({ length: 8 }, async () => {
      while (next < files.length) {
        const i = next++;
        assert.equal(await flaky.put(`${i % 16}a/f${i}`, files[i], { ifAbsent: true }), "stored");
      }
    });
    await Promise.all([...puts, flaky.put("ff/large", largeSrc, { ifAbsent: true })]);

    assert.ok(proxy.stats.slowdown > 0 && proxy.stats.drop > 0, JSON.stringify(proxy.stats));
    const sent = requests.counts.get("PutObjectCommand") ?? 0;
    assert.ok(sent > files.length, `${sent} PutObject requests for ${files.length} files`);
    for (let i = 0; i < files.length; i++) {
      assert.deepEqual(
        await direct.read(`${i % 16}a/f${i}`),
        pattern(20_000 + i * 997, i),
        `f${i}`,
      );
    }
    assert.deepEqual(await direct.read("ff/large"), large);

    const listed = await collect(flaky);
    assert.equal(listed.length, files.length + 1);
    const outcomes = await flaky.deleteMany(listed.map((e) => e.path));
    assert.ok(outcomes.every((o) => !o.error));
    assert.deepEqual(await collect(direct), []);
  } finally {
    await flaky.close();
    await direct.close();
    await proxy.close();
    await dropBucket(server, bucket);
    await Deno.remove(scratch, { recursive: true });
  }
});
