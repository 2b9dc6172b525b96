/** Opens the backend a cache location names. */
import type { Backend } from "./backend.ts";
import { FileBackend } from "./file.ts";
import { redactUrl, schemeOf } from "./url.ts";
import { CliError } from "../cli/errors.ts";

/** The URL forms accepted, for error messages and help. */
export const LOCATION_FORMS = "a path, file://PATH, http(s)://HOST/PATH or s3://BUCKET/PREFIX";

/** Returns the backend for `location`; throws a CliError for unknown or unsupported schemes. */
export function openBackend(location: string): Backend {
  if (/^[a-z][a-z0-9+.-]*:\/(?!\/)/i.test(location)) {
    throw new CliError(`malformed location ${redactUrl(location)}: expected scheme://…`);
  }
  const scheme = schemeOf(location);
  switch (scheme) {
    case "file":
      return new FileBackend(location);
    case "http":
    case "https":
      throw new CliError(`WebDAV targets are not supported yet: ${redactUrl(location)}`);
    case "s3":
      throw new CliError(`S3 targets are not supported yet: ${redactUrl(location)}`);
    default:
      throw new CliError(
        `unknown URL scheme '${scheme}://' in ${redactUrl(location)} (expected ${LOCATION_FORMS})`,
      );
  }
}
