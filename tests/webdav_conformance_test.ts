/**
 * The shared backend conformance suite against a real Apache mod_dav: without authentication
 * (Apache refusing `Depth: infinity`, its default), with Basic authentication, and with
 * `Depth: infinity` allowed. The https run is in webdav_tls_test.ts.
 */
import { WebDavBackend } from "../src/backends/webdav/webdav.ts";
import { backendConformance } from "./backend_conformance.ts";
import { WEBDAV_FEATURES } from "../src/backends/webdav/location.ts";
import { type Apache, startApache } from "./servers/apache.ts";

const plain = await startApache();
const auth = { user: "builder", password: "s3cret:with@odd/chars" };
const withAuth = await startApache({ auth });
const infinity = await startApache({ depthInfinity: true });

let counter = 0;
/** A fixture at a fresh collection below the server's root. */
function fixture(apache: Apache, credentials?: typeof auth) {
  return () =>
    Promise.resolve({
      backend: new WebDavBackend(`${apache.url}cache-${++counter}/`, { credentials }),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    });
}

backendConformance("webdav", WEBDAV_FEATURES, fixture(plain));
backendConformance("webdav with basic auth", WEBDAV_FEATURES, fixture(withAuth, auth));
backendConformance("webdav with depth infinity", WEBDAV_FEATURES, fixture(infinity));
