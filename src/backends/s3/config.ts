/**
 * Where an `s3://` location points: bucket and key prefix from the URL; endpoint, addressing
 * style, region and CA bundle from the command line, the standard AWS environment variables and
 * the AWS profile in force (profile.ts), with the AWS CLI's precedence.
 */
import { BackendError, type Features } from "../backend.ts";
import type { CaSetting } from "../http/cas.ts";
import type { LocationOptions } from "../url.ts";
import { redactUrl } from "../url.ts";
import {
  chooseProfile,
  type Env,
  NO_SHARED_CONFIG,
  type ProfileChoice,
  type ProfileData,
  profileData,
  servicesSection,
  type SharedConfig,
} from "./profile.ts";

export type { Env } from "./profile.ts";

/** Measured on radosgw: 32 uploads in flight beat 8 and 16 clearly, and 64 no further. */
export const S3_DEFAULT_JOBS = 32;

/** What a cache under an S3 prefix can do: flat keys, bulk deletes, the SDK's own retries. */
export const S3_FEATURES: Features = {
  directories: false,
  bulkDelete: true,
  retriesInternally: true,
  lastUse: true,
};

/** The region used when neither the environment nor the AWS config files name one. */
export const FALLBACK_REGION = "us-east-1";

/** An S3 location, resolved. */
export interface S3Location {
  bucket: string;
  /** Key prefix of the cache root: "" or ending in "/". */
  prefix: string;
  /** `s3://bucket/prefix`, for messages. */
  displayUrl: string;
  /** Endpoint of an S3-compatible store; undefined for AWS. */
  endpoint?: string;
  /** Path-style addressing (`https://host/bucket/key`) rather than virtual-hosted. */
  forcePathStyle: boolean;
  /** The region the environment or the profile names; else the fallback is used. */
  region?: string;
  /** The AWS profile in force. */
  profile: ProfileChoice;
  /** The shared files as read (NO_SHARED_CONFIG when the location was resolved without them). */
  shared: SharedConfig;
  /** S3's own CA settings: `AWS_CA_BUNDLE`, then the profile's `ca_bundle`. */
  caSettings: CaSetting[];
}

/** Bucket names as S3 and its look-alikes accept them (3–63 characters, no slashes). */
const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$/;

/**
 * Parses `s3://bucket[/prefix]` and resolves its settings as the AWS CLI does, from the command
 * line, the environment `env` and the profile in force in `shared` (the shared files as
 * `loadSharedConfig` read them; without, from the command line and the environment alone):
 *
 * - endpoint: `--s3-endpoint`, else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the `s3` endpoint_url
 *   of the profile's `[services NAME]` section, the profile's endpoint_url (none of them when
 *   AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, or else the profile's ignore_configured_endpoint_urls,
 *   is true);
 * - addressing: `--s3-path-style`, else the profile's `s3.addressing_style` (path, virtual,
 *   auto), where auto is path-style exactly when an endpoint is set;
 * - region: AWS_REGION, AWS_DEFAULT_REGION, the profile's region;
 * - CA bundle: AWS_CA_BUNDLE, else the profile's ca_bundle.
 */
export function resolveS3Location(
  location: string,
  options: LocationOptions,
  env: Env,
  shared: SharedConfig = NO_SHARED_CONFIG,
): S3Location {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(location);
  const bucket = m?.[1] ?? "";
  if (!m || bucket.includes("@") || !BUCKET.test(bucket)) {
    throw new BackendError(
      `malformed S3 location ${redactUrl(location)}: expected s3://BUCKET[/PREFIX]`,
      "target",
    );
  }
  const path = (m[2] ?? "").replace(/\/+$/, "");
  const parts = path === "" ? [] : path.split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..")) {
    throw new BackendError(`malformed S3 prefix in ${location}: empty, '.' or '..' part`, "target");
  }
  const prefix = parts.length ? `${parts.join("/")}/` : "";
  const profile = chooseProfile(options, env);
  const data = profileData(shared, profile.name) ?? {};
  const endpoint = resolveEndpoint(options, env, shared, profile, data);
  const inProfile = (key: string) => `${key} (profile '${profile.name}')`;
  return {
    bucket,
    prefix,
    displayUrl: `s3://${bucket}${prefix ? `/${prefix.slice(0, -1)}` : ""}`,
    endpoint,
    forcePathStyle: options.s3PathStyle ??
      addressingStyle(data["s3.addressing_style"], inProfile("s3.addressing_style"), endpoint),
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || data.region || undefined,
    profile,
    shared,
    caSettings: [
      { name: "AWS_CA_BUNDLE", file: env.AWS_CA_BUNDLE || undefined },
      {
        name: inProfile("ca_bundle"),
        file: data.ca_bundle || undefined,
        overriddenBy: env.AWS_CA_BUNDLE ? "AWS_CA_BUNDLE" : undefined,
      },
    ],
  };
}

/** Whether `style` (a profile's s3.addressing_style) means path-style, with `endpoint`. */
function addressingStyle(style: string | undefined, from: string, endpoint?: string): boolean {
  switch (style?.toLowerCase()) {
    case "path":
      return true;
    case "virtual":
      return false;
    case undefined:
    case "":
    case "auto":
      return endpoint !== undefined;
  }
  throw new BackendError(`${from}: expected path, virtual or auto, not '${style}'`, "target");
}

function resolveEndpoint(
  options: LocationOptions,
  env: Env,
  shared: SharedConfig,
  profile: ProfileChoice,
  data: ProfileData,
): string | undefined {
  if (options.s3Endpoint) return checkEndpoint(options.s3Endpoint, "--s3-endpoint");
  const ignore = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS || data.ignore_configured_endpoint_urls;
  if (ignore?.toLowerCase() === "true") return undefined;
  const services = servicesSection(shared, data);
  const candidates: [string | undefined, string][] = [
    [env.AWS_ENDPOINT_URL_S3, "AWS_ENDPOINT_URL_S3"],
    [env.AWS_ENDPOINT_URL, "AWS_ENDPOINT_URL"],
    [services["s3.endpoint_url"], `s3.endpoint_url ([services ${data.services}])`],
    [data.endpoint_url, `endpoint_url (profile '${profile.name}')`],
  ];
  const found = candidates.find(([value]) => value);
  return found ? checkEndpoint(found[0]!, found[1]) : undefined;
}

/** `raw` as an endpoint URL (no trailing slash); a BackendError naming `from` if it is none. */
function checkEndpoint(raw: string, from: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BackendError(`${from}: not a URL: ${redactUrl(raw)}`, "target");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new BackendError(
      `${from}: expected an http:// or https:// URL: ${redactUrl(raw)}`,
      "target",
    );
  }
  if (url.username || url.password) {
    throw new BackendError(
      `${from}: credentials do not belong in the endpoint URL; use the AWS credential settings`,
      "target",
    );
  }
  return raw.replace(/\/+$/, "");
}
