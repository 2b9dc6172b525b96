/**
 * The conformance suite over https, against the server in `ISAR_SSTATE_TEST_HTTPS_URL`; run by
 * webdav_tls_test.ts in a process of its own whose `DENO_CERT` names the server's CA.
 */
import assert from "node:assert/strict";
import { WebDavBackend } from "../src/backends/webdav/webdav.ts";
import { backendConformance } from "./backend_conformance.ts";
import { WEBDAV_FEATURES } from "../src/backends/webdav/location.ts";

const url = Deno.env.get("ISAR_SSTATE_TEST_HTTPS_URL") ?? "";

Deno.test("webdav over https: the suite runs against an https server", () => {
  assert.match(url, /^https:\/\/([^@/]*@)?127\.0\.0\.1:\d+\//);
});

let counter = 0;
backendConformance("webdav over https", WEBDAV_FEATURES, () =>
  Promise.resolve({
    backend: new WebDavBackend(`${url}cache-${++counter}/`),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  }));
