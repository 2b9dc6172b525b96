/**
 * The AWS SDK client of an S3 location: the SDK's own retries (the only retry layer), checksums
 * only where S3 requires them, the credential chain of credentials.ts, and the lean transport of
 * http_handler.ts with the stall timeout and S3's CA settings.
 */
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { useFileBodies } from "./body.ts";
import { type Env, FALLBACK_REGION, type S3Location } from "./config.ts";
import { credentialChain } from "./credentials.ts";
import { SdkHandler } from "./http_handler.ts";
import { profileData } from "./profile.ts";
import { networkSettings } from "../http/settings.ts";
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
  /** Explicit credentials instead of the chain of credentials.ts (tests). */
  credentials?: S3ClientConfig["credentials"];
  /** A request without a byte sent or received for this long fails (and is retried). */
  stallTimeoutMs: number;
  /** Told (at most once per stall timeout) when requests stall. */
  onStall?: StallListener;
}

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** An SDK client for `location`. */
export function createClient(location: S3Location, settings: ClientSettings): S3Client {
  const { env, stallTimeoutMs } = settings;
  const where = `${location.displayUrl}${location.endpoint ? ` (${location.endpoint})` : ""}`;
  const stalled = stallReporter(settings.onStall, stallTimeoutMs);
  const profile = profileData(location.shared, location.profile.name) ?? {};
  const retries = env.AWS_MAX_ATTEMPTS || env.AWS_RETRY_MODE || profile.max_attempts ||
      profile.retry_mode
    ? {}
    : { maxAttempts: MAX_ATTEMPTS, retryMode: "standard" };
  // Structurally the SDK's RequestHandler (whose types live in a package not imported here).
  const requestHandler = new SdkHandler({
    maxSockets: 256,
    connectTimeout: Math.min(CONNECT_TIMEOUT_MS, stallTimeoutMs),
    idleTimeout: stallTimeoutMs,
    abortGrace: ABORT_GRACE_MS,
    onStall: (what) => stalled(`${where}: ${what}; trying again`),
    network: networkSettings(location.caSettings),
  }) as unknown as S3ClientConfig["requestHandler"];
  const client = new S3Client({
    ...retries,
    // The profile for what the SDK reads of it itself (retries, STS's settings).
    profile: location.profile.name,
    region: location.region ?? FALLBACK_REGION,
    // A guessed region may be wrong for an AWS bucket: follow S3's redirects to the right one.
    followRegionRedirects: true,
    endpoint: location.endpoint,
    forcePathStyle: location.forcePathStyle,
    credentials: settings.credentials ?? credentialChain({
      env,
      profile: location.profile,
      shared: location.shared,
      requestHandler,
    }),
    // Streamed bodies with the SDK's default trailing checksums are refused or stored with
    // their chunk framing by many S3-compatible stores: checksums only where S3 requires them.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    expectContinueHeader: false,
    requestHandler,
    logger: silentLogger,
  });
  useFileBodies(client);
  return client;
}
