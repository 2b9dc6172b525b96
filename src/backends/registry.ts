/**
 * Every kind of cache location, one entry per backend: the URL schemes it takes, how a location
 * is parsed (once: the parsed form carries the printable, redacted URL) and how it is opened. A
 * new backend is a folder beside file/, webdav/ and s3/ plus one entry here.
 */
import { type Backend, BackendError } from "./backend.ts";
import { FileBackend } from "./file/file.ts";
import { FILE_DEFAULT_JOBS, type FileLocation, parseFileLocation } from "./file/location.ts";
import { type StallListener, stallTimeoutMs } from "./http/stall.ts";
import { resolveS3Location, S3_DEFAULT_JOBS, type S3Location } from "./s3/config.ts";
import { type LocationOptions, redactUrl, schemeOf } from "./url.ts";
import { type DavLocation, parseDavLocation, WEBDAV_DEFAULT_JOBS } from "./webdav/location.ts";

/** How to open a location: the command line's settings, and who hears of stalled requests. */
export interface OpenOptions extends LocationOptions {
  /** Told (at most once per stall timeout) while requests to the location stall. */
  onStall?: StallListener;
}

/** One backend, as the registry knows it. */
export interface BackendEntry<L extends { displayUrl: string } = { displayUrl: string }> {
  /** What its caches are, for help texts. */
  name: string;
  /** The URL schemes it opens (`file` also takes bare paths). */
  schemes: readonly string[];
  /** The forms of its locations, for messages. */
  forms: string;
  /** Operations in flight that suit it when `--jobs` is not given. */
  defaultJobs: number;
  /** Parses a location; a malformed one is a BackendError that shows it redacted. */
  parse(location: string, options: LocationOptions): L;
  /**
   * Opens a parsed location. Remote backends are loaded here, on first use (literal dynamic
   * imports, which `deno compile` embeds), so commands on local caches do not pay for their
   * libraries at start-up.
   */
  open(location: L, options: OpenOptions): Promise<Backend>;
}

const file: BackendEntry<FileLocation> = {
  name: "a directory",
  schemes: ["file"],
  forms: "a path, file://PATH",
  defaultJobs: FILE_DEFAULT_JOBS,
  parse: parseFileLocation,
  open: (location) => Promise.resolve(new FileBackend(location)),
};

const webdav: BackendEntry<DavLocation> = {
  name: "WebDAV",
  schemes: ["http", "https"],
  forms: "http(s)://HOST/PATH",
  defaultJobs: WEBDAV_DEFAULT_JOBS,
  parse: parseDavLocation,
  open: async (location, options) =>
    (await import("./webdav/webdav.ts")).openWebDav(location, {
      stallTimeoutMs: stallTimeoutMs(Deno.env.toObject()),
      onStall: options.onStall,
    }),
};

const s3: BackendEntry<S3Location> = {
  name: "S3",
  schemes: ["s3"],
  forms: "s3://BUCKET/PREFIX",
  defaultJobs: S3_DEFAULT_JOBS,
  parse: (location, options) => resolveS3Location(location, options, Deno.env.toObject()),
  open: async (location, options) => {
    const { openS3Backend } = await import("./s3/open.ts");
    return await openS3Backend(location, options, { onStall: options.onStall });
  },
};

/** Every backend, in the order help texts list them. */
export const BACKENDS: readonly BackendEntry[] = [file, webdav, s3] as BackendEntry[];

/** The URL forms accepted, for error messages and help. */
const LOCATION_FORMS = `${BACKENDS.slice(0, -1).map((b) => b.forms).join(", ")} or ${
  BACKENDS.at(-1)!.forms
}`;

/** The default `--jobs` of each backend, for help texts: "256 for a directory, 16 for …". */
export function defaultJobsText(): string {
  return BACKENDS.map((b) => `${b.defaultJobs} for ${b.name}`).join(", ");
}

/** A location parsed by its backend's entry. */
export interface Location {
  backend: BackendEntry;
  /** What the entry's `parse` made of it (with `displayUrl`). */
  parsed: { displayUrl: string };
}

/** Parses `location` with its backend's entry; a BackendError for unknown or malformed ones. */
export function parseLocation(location: string, options: LocationOptions = {}): Location {
  if (/^[a-z][a-z0-9+.-]*:\/(?!\/)/i.test(location)) {
    throw new BackendError(`malformed location ${redactUrl(location)}: expected scheme://…`);
  }
  const scheme = schemeOf(location);
  const backend = BACKENDS.find((b) => b.schemes.includes(scheme));
  if (!backend) {
    throw new BackendError(
      `unknown URL scheme '${scheme}://' in ${redactUrl(location)} (expected ${LOCATION_FORMS})`,
    );
  }
  return { backend, parsed: backend.parse(location, options) };
}

/** The local directory a `file://` location (or bare path) names, else null. */
export function localRoot(location: Location): string | null {
  return location.backend === file ? (location.parsed as FileLocation).root : null;
}

/** Returns the backend for `location`; throws a BackendError for unknown or malformed ones. */
export async function openBackend(location: string, options: OpenOptions = {}): Promise<Backend> {
  const { backend, parsed } = parseLocation(location, options);
  return await backend.open(parsed, options);
}
