/**
 * The wrapper contract: every backend that wraps another (the retry layer, watch's outage gate,
 * the tests' wrapper) around every real backend (file://, WebDAV, S3; constructed without a
 * server, as construction connects to nothing) has each optional method exactly where the
 * wrapped backend has it, and the wrapped backend's features, URL and default jobs. Each real
 * backend's features agree with the methods it has.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Backend, OPTIONAL_METHODS } from "../src/backends/backend.ts";
import { FileBackend } from "../src/backends/file/file.ts";
import { DEFAULT_RETRY, RetryingBackend } from "../src/backends/retry.ts";
import { S3Backend } from "../src/backends/s3/s3.ts";
import { WebDavBackend } from "../src/backends/webdav/webdav.ts";
import { gated, OutageGate } from "../src/sync/watch/outage.ts";
import { tempDir } from "./helpers.ts";
import { WrappedBackend } from "./wrapped_backend.ts";

/** The real backends, at locations nothing answers on (nothing is asked of them here). */
const BACKENDS: Record<string, (dir: string) => Backend> = {
  "file://": (dir) => new FileBackend(join(dir, "cache")),
  WebDAV: () => new WebDavBackend("http://127.0.0.1:9/cache/"),
  S3: () =>
    new S3Backend("s3://bucket/cache", { s3Endpoint: "http://127.0.0.1:9" }, {
      env: { AWS_REGION: "us-east-1" },
      credentials: { accessKeyId: "unused", secretAccessKey: "unused" },
    }),
};

/** Every wrapper there is. */
const WRAPPERS: Record<string, (inner: Backend) => Backend> = {
  "retry layer": (inner) => new RetryingBackend(inner, DEFAULT_RETRY),
  "outage gate": (inner) => gated(inner, new OutageGate()),
  "tests' wrapper": (inner) => new WrappedBackend(inner),
};

/** The optional methods `b` has. */
const optionalMethods = (b: Backend) =>
  OPTIONAL_METHODS.filter((name) => typeof b[name] === "function");

for (const [backendName, open] of Object.entries(BACKENDS)) {
  Deno.test(`${backendName} backend: its features agree with the methods it has`, async () => {
    await using dir = await tempDir();
    const b = open(dir.path);
    try {
      assert.equal(b.features.bulkDelete, typeof b.deleteMany === "function", "bulkDelete");
      assert.equal(b.features.directories, typeof b.pruneEmptyDirs === "function", "directories");
      const leftovers = typeof b.tempFiles === "function" ||
        typeof b.unfinishedUploads === "function";
      assert.equal(typeof b.removeLeftover === "function", leftovers, "leftovers");
      assert.equal(b.features.lastUse, typeof b.markUsed === "function", "lastUse");
    } finally {
      await b.close();
    }
  });

  for (const [wrapperName, wrap] of Object.entries(WRAPPERS)) {
    Deno.test(`${wrapperName} around the ${backendName} backend: every optional method, the same features`, async () => {
      await using dir = await tempDir();
      const inner = open(dir.path);
      const wrapper = wrap(inner);
      try {
        for (const name of OPTIONAL_METHODS) {
          assert.equal(typeof wrapper[name], typeof inner[name], `${wrapperName}: ${name}`);
        }
        assert.deepEqual(optionalMethods(wrapper), optionalMethods(inner));
        assert.deepEqual(wrapper.features, inner.features);
        assert.equal(wrapper.displayUrl, inner.displayUrl);
        assert.equal(wrapper.defaultJobs, inner.defaultJobs);
      } finally {
        await wrapper.close();
      }
    });
  }
}
