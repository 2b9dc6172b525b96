/** The shared backend conformance suite on S3: a fresh bucket per test, on a real radosgw. */
import { backendConformance } from "./backend_conformance.ts";
import { dropBucket, newBucketName, openS3, s3Server } from "./servers/ceph.ts";

backendConformance("s3", async () => {
  const server = await s3Server();
  const bucket = newBucketName("conf");
  return {
    backend: openS3(server, `s3://${bucket}/cache`),
    [Symbol.asyncDispose]: () => dropBucket(server, bucket),
  };
});
