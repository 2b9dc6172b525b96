/**
 * The shared backend conformance suite on S3: a fresh bucket per test (created by its owner, as
 * the tool never creates buckets), on a real radosgw.
 */
import { backendConformance } from "./backend_conformance.ts";
import { S3_FEATURES } from "../src/backends/s3/config.ts";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { dropBucket, newBucketName, openS3, s3Server, sdkClient } from "./servers/ceph.ts";

backendConformance("s3", S3_FEATURES, async () => {
  const server = await s3Server();
  const bucket = newBucketName("conf");
  return {
    backend: openS3(server, `s3://${bucket}/cache`),
    createRoot: async () => {
      const client = sdkClient(server);
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
      } finally {
        client.destroy();
      }
    },
    [Symbol.asyncDispose]: () => dropBucket(server, bucket),
  };
});
