/**
 * Where an `s3://` location points: bucket and key prefix from the URL, endpoint, addressing
 * style and region from the options and the standard AWS environment variables.
 */
import { BackendError, type Features } from "../backend.ts";
import type { LocationOptions } from "../url.ts";
import { redactUrl } from "../url.ts";

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
  /** A region named by AWS_REGION or AWS_DEFAULT_REGION; else the SDK's own chain decides. */
  region?: string;
}

/** Environment variables as a plain record (`Deno.env.toObject()` in production). */
export type Env = Record<string, string | undefined>;

/** Bucket names as S3 and its look-alikes accept them (3–63 characters, no slashes). */
const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$/;

/**
 * Parses `s3://bucket[/prefix]` and resolves its settings: the endpoint from `--s3-endpoint`,
 * else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is
 * true); path-style addressing from `--s3-path-style`, else on exactly when an endpoint is set.
 */
export function resolveS3Location(
  location: string,
  options: LocationOptions,
  env: Env,
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
  const endpoint = resolveEndpoint(options, env);
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  return {
    bucket,
    prefix,
    displayUrl: `s3://${bucket}${prefix ? `/${prefix.slice(0, -1)}` : ""}`,
    endpoint,
    forcePathStyle: options.s3PathStyle ?? endpoint !== undefined,
    region,
  };
}

function resolveEndpoint(options: LocationOptions, env: Env): string | undefined {
  const ignoreEnv = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === "true";
  const [raw, from] = options.s3Endpoint
    ? [options.s3Endpoint, "--s3-endpoint"]
    : ignoreEnv
    ? [undefined, ""]
    : env.AWS_ENDPOINT_URL_S3
    ? [env.AWS_ENDPOINT_URL_S3, "AWS_ENDPOINT_URL_S3"]
    : env.AWS_ENDPOINT_URL
    ? [env.AWS_ENDPOINT_URL, "AWS_ENDPOINT_URL"]
    : [undefined, ""];
  if (raw === undefined) return undefined;
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

/** The shared credentials and config files the AWS SDK reads, as `env` names them. */
export function sharedFiles(env: Env): { credentials: string; config: string } {
  const home = env.HOME || env.USERPROFILE || "~";
  const expand = (p: string) => p.startsWith("~/") ? `${home}${p.slice(1)}` : p;
  return {
    credentials: expand(env.AWS_SHARED_CREDENTIALS_FILE || "~/.aws/credentials"),
    config: expand(env.AWS_CONFIG_FILE || "~/.aws/config"),
  };
}

/** The section names of an INI file (undefined when it cannot be read). */
function sections(file: string): string[] | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch {
    return undefined;
  }
  return [...text.matchAll(/^\s*\[([^\]]*)\]/gm)].map((m) => m[1].trim().replace(/\s+/g, " "));
}

/**
 * When AWS_PROFILE names a profile that neither shared file has, why credentials cannot be found:
 * the profile and the files read. Undefined when no profile is named or it exists.
 */
export function missingProfile(env: Env): string | undefined {
  const profile = env.AWS_PROFILE?.trim();
  if (!profile) return undefined;
  const files = sharedFiles(env);
  const credentials = sections(files.credentials);
  const config = sections(files.config);
  if (credentials?.includes(profile)) return undefined;
  if (config?.includes(`profile ${profile}`)) return undefined;
  if (profile === "default" && config?.includes("default")) return undefined;
  const read = (file: string, found: string[] | undefined) => found ? file : `${file} (missing)`;
  return `AWS profile '${profile}' (AWS_PROFILE) not found in ${
    read(files.credentials, credentials)
  } or ${read(files.config, config)}`;
}
