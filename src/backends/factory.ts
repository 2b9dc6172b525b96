/** Opens the backend a cache location names. */
import { type Backend, BackendError } from "./backend.ts";
import { FileBackend } from "./file.ts";
import { type StallListener, stallTimeoutMs } from "./stall.ts";
import { type LocationOptions, redactUrl, schemeOf } from "./url.ts";

/** How to open a location: the command line's settings, and who hears of stalled requests. */
export interface OpenOptions extends LocationOptions {
  /** Told (at most once per stall timeout) while requests to the location stall. */
  onStall?: StallListener;
}

/** The URL forms accepted, for error messages and help. */
export const LOCATION_FORMS = "a path, file://PATH, http(s)://HOST/PATH or s3://BUCKET/PREFIX";

/**
 * Returns the backend for `location`; throws a BackendError for unknown or unsupported schemes.
 * Remote backends are loaded on first use (literal dynamic imports, which `deno compile` embeds),
 * so commands on local caches do not pay for their libraries at start-up.
 */
export async function openBackend(
  location: string,
  options: OpenOptions = {},
): Promise<Backend> {
  if (/^[a-z][a-z0-9+.-]*:\/(?!\/)/i.test(location)) {
    throw new BackendError(`malformed location ${redactUrl(location)}: expected scheme://…`);
  }
  const scheme = schemeOf(location);
  switch (scheme) {
    case "file":
      return new FileBackend(location);
    case "http":
    case "https":
      return (await import("./webdav.ts")).openWebDav(location, {
        stallTimeoutMs: stallTimeoutMs(Deno.env.toObject()),
        onStall: options.onStall,
      });
    case "s3": {
      const { S3Backend } = await import("./s3.ts");
      return new S3Backend(location, options, { onStall: options.onStall });
    }
    default:
      throw new BackendError(
        `unknown URL scheme '${scheme}://' in ${redactUrl(location)} (expected ${LOCATION_FORMS})`,
      );
  }
}
