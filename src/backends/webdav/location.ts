/** `http://` and `https://` locations: a cache in a WebDAV collection. */
import { BackendError, type Features } from "../backend.ts";
import { redactUrl } from "../url.ts";

/** Measured against Apache on two cores: 8 and 16 in flight upload alike; 16 hides latency. */
export const WEBDAV_DEFAULT_JOBS = 16;

/** What a cache in a WebDAV collection can do. */
export const WEBDAV_FEATURES: Features = {
  directories: true,
  bulkDelete: false,
  retriesInternally: false,
  lastUse: true,
};

/** A WebDAV location, parsed. */
export interface DavLocation {
  /** The URL as given, with any user information (see credentials.ts). */
  url: URL;
  /** The location for printing, the password redacted. */
  displayUrl: string;
}

/** Parses an http(s) URL of a collection; no query or fragment. */
export function parseDavLocation(location: string): DavLocation {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw new BackendError(`malformed URL ${redactUrl(location)}`, "target");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new BackendError(`not a WebDAV URL: ${redactUrl(location)}`, "target");
  }
  if (url.search || url.hash) {
    throw new BackendError(
      `a WebDAV URL takes no query or fragment: ${redactUrl(location)}`,
      "target",
    );
  }
  return { url, displayUrl: redactUrl(location) };
}
