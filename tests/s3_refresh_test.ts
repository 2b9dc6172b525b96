/**
 * Retention by last use end to end on a real radosgw: refreshes (a copy of each used object onto
 * itself), clean by last use, the size quota, stamps and newest versions, and a clean racing an
 * upload's refreshes. Requests are counted in radosgw's own log.
 */
import { newBucket, openS3, s3Server, serverRequests } from "./servers/ceph.ts";
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
