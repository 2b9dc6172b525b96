/**
 * The AWS SDK client of an S3 location: the SDK's own retries (the only retry layer), checksums
 * only where S3 requires them, and the lean transport of http_handler.ts with the stall timeout.
 */
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { useFileBodies } from "./body.ts";
import { type Env, FALLBACK_REGION, type S3Location } from "./config.ts";
import { SdkHandler } from "./http_handler.ts";
import { type StallListener, stallReporter } from "../http/stall.ts";

/** Attempts per request (the first plus retries), unless AWS_MAX_ATTEMPTS says otherwise. */
const MAX_ATTEMPTS = 5;
/** Milliseconds a new connection may take to open (at most the stall timeout). */
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * After an interrupt, how long a request that changes something and was sent whole may take to
 * answer: its outcome is then known rather than in doubt.
 */
const ABORT_GRACE_MS = 500;

/** What the client needs besides the location. */
export interface ClientSettings {
  env: Env;
  /** Explicit credentials instead of the SDK's default chain (tests). */
  credentials?: S3ClientConfig["credentials"];
  /** A request without a byte sent or received for this long fails (and is retried). */
  stallTimeoutMs: number;
  /** Told (at most once per stall timeout) when requests stall. */
  onStall?: StallListener;
}

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** The region of the SDK's default chain (AWS_REGION, the profile's config), or the fallback. */
async function defaultRegion(): Promise<string> {
  const probe = new S3Client({});
  try {
    return await probe.config.region();
  } catch {
    return FALLBACK_REGION;
  } finally {
    probe.destroy();
  }
}

/** An SDK client for `location`. */
export function createClient(location: S3Location, settings: ClientSettings): S3Client {
  const { env, stallTimeoutMs } = settings;
  const where = `${location.displayUrl}${location.endpoint ? ` (${location.endpoint})` : ""}`;
  const stalled = stallReporter(settings.onStall, stallTimeoutMs);
  const retries = env.AWS_MAX_ATTEMPTS || env.AWS_RETRY_MODE
    ? {}
    : { maxAttempts: MAX_ATTEMPTS, retryMode: "standard" };
  // Resolved once: the SDK asks for the region on every request.
  let region: Promise<string> | undefined;
  const client = new S3Client({
    ...retries,
    region: location.region ?? (() => region ??= defaultRegion()),
    // A guessed region may be wrong for an AWS bucket: follow S3's redirects to the right one.
    followRegionRedirects: true,
    endpoint: location.endpoint,
    forcePathStyle: location.forcePathStyle,
    credentials: settings.credentials,
    // Streamed bodies with the SDK's default trailing checksums are refused or stored with
    // their chunk framing by many S3-compatible stores: checksums only where S3 requires them.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    expectContinueHeader: false,
    // Structurally the SDK's RequestHandler (whose types live in a package not imported here).
    requestHandler: new SdkHandler({
      maxSockets: 256,
      connectTimeout: Math.min(CONNECT_TIMEOUT_MS, stallTimeoutMs),
      idleTimeout: stallTimeoutMs,
      abortGrace: ABORT_GRACE_MS,
      onStall: (what) => stalled(`${where}: ${what}; trying again`),
    }) as unknown as S3ClientConfig["requestHandler"],
    logger: silentLogger,
  });
  useFileBodies(client);
  return client;
}
