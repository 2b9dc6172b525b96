/** Turning AWS SDK errors into one-line BackendErrors with the right scope, never a secret. */
import { BackendError, type FailureScope } from "../backend.ts";
import { isTlsFailure } from "../http/cas.ts";
import { CredentialsFailure } from "./credentials.ts";

/** What an S3 call failed on, for messages. */
export interface S3Target {
  bucket: string;
  displayUrl: string;
  endpoint?: string;
}

interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Network failures that another attempt may get past. */
const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/** Failures to reach the store at all, with what to say about them. */
const CONNECT_CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  EAI_NONAME: "host not found",
  EHOSTUNREACH: "no route to host",
  ENETUNREACH: "network is unreachable",
  EADDRNOTAVAIL: "address not available",
};

/** Error codes that S3 itself marks as worth retrying. */
const TRANSIENT_NAMES = new Set([
  "SlowDown",
  "ServiceUnavailable",
  "InternalError",
  "RequestTimeout",
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  "TimeoutError",
]);

/** Codes of a refusal of this client (credentials, permission): waiting does not help. */
const DENIED = new Set([
  "CredentialsProviderError",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AccessDenied",
  "AllAccessDisabled",
  "AccountProblem",
  "InvalidToken",
  "ExpiredToken",
  "TokenRefreshRequired",
]);

/** The S3 error code of an SDK error (its name for modelled errors, else the parsed Code). */
export function errorCode(err: unknown): string {
  const e = err as SdkError;
  return e?.Code ?? e?.name ?? "";
}

/** The HTTP status of an SDK error, if it got that far. */
export function httpStatus(err: unknown): number | undefined {
  return (err as SdkError)?.$metadata?.httpStatusCode;
}

/** Whether the error says that the bucket does not exist. */
export function isNoSuchBucket(err: unknown): boolean {
  return errorCode(err) === "NoSuchBucket";
}

/** Whether the error says that the key does not exist. */
export function isNotFound(err: unknown): boolean {
  const code = errorCode(err);
  return code === "NotFound" || code === "NoSuchKey" ||
    (httpStatus(err) === 404 && code !== "NoSuchBucket");
}

/** Whether the error is a failed `If-None-Match: *`: the key exists. */
export function isPreconditionFailed(err: unknown): boolean {
  return errorCode(err) === "PreconditionFailed" || httpStatus(err) === 412;
}

/** A one-line account of a failure that stops the whole target, or undefined for other errors. */
function targetMessage(err: unknown, t: S3Target): string | undefined {
  const code = errorCode(err);
  const status = httpStatus(err);
  switch (code) {
    case "CredentialsProviderError":
      return err instanceof CredentialsFailure
        ? err.describe(t.displayUrl)
        : `no AWS credentials for ${t.displayUrl}: ${firstLine(err)}`;
    case "InvalidAccessKeyId":
      return `${t.displayUrl}: the server does not know the access key ID`;
    case "SignatureDoesNotMatch":
      return `${t.displayUrl}: the secret access key does not match the access key ID ` +
        "(request signature rejected)";
    case "NoSuchBucket":
      return `bucket '${t.bucket}' does not exist (${t.displayUrl})`;
    case "AccessDenied":
    case "AllAccessDisabled":
    case "AccountProblem":
    case "InvalidToken":
    case "ExpiredToken":
    case "TokenRefreshRequired":
      return `access denied to ${t.displayUrl} (${code})`;
    case "PermanentRedirect":
    case "AuthorizationHeaderMalformed":
      return `${t.displayUrl}: the bucket is in another region; set AWS_REGION (${code})`;
  }
  if (status === 403) return `access denied to ${t.displayUrl} (HTTP 403)`;
  if (/region is missing/i.test((err as SdkError)?.message ?? "")) {
    return `${t.displayUrl}: no AWS region configured; set AWS_REGION`;
  }
  if (status !== undefined) return undefined;
  // Unreachable, or no answer, through every attempt: so it is for every other request too.
  const where = `${t.displayUrl}${t.endpoint ? ` (endpoint ${t.endpoint})` : ""}`;
  const connect = CONNECT_CODES[(err as SdkError)?.code ?? ""];
  if (connect) return `cannot connect to ${where}: ${connect}`;
  // The message names the CA settings read (http/cas.ts).
  if (isTlsFailure(err)) return `cannot connect to ${where}: ${firstLine(err)}`;
  if (code === "TimeoutError") {
    const attempts = (err as { $metadata?: { attempts?: number } }).$metadata?.attempts;
    return `${where} does not answer: ${firstLine(err)}` +
      (attempts ? ` (${attempts} attempts)` : "");
  }
  return undefined;
}

function firstLine(err: unknown): string {
  const e = err as SdkError;
  const msg = (e?.message ?? String(err)).split("\n")[0].trim();
  const code = errorCode(err);
  const status = httpStatus(err);
  const parts = [msg || code || "unknown error"];
  if (code && code !== "Error" && !msg.includes(code)) parts.push(`(${code})`);
  if (status && !msg.includes(String(status))) parts.push(`(HTTP ${status})`);
  return parts.join(" ");
}

function isTransient(err: unknown): boolean {
  const e = err as SdkError;
  const status = httpStatus(err);
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (TRANSIENT_NAMES.has(errorCode(err))) return true;
  if (NETWORK_CODES.has(e?.code ?? "")) return true;
  return /socket hang up|ECONNRESET|EPIPE|connection (reset|closed)/i.test(e?.message ?? "");
}

/**
 * The error of one key that a DeleteObjects response lists as not deleted: it concerns that file
 * only, whatever its code (the request itself went through), and its message is just the reason,
 * for callers that name the file themselves.
 */
export function keyError(code: string | undefined, message: string | undefined): BackendError {
  return new BackendError(firstLine({ Code: code, message: message || code }), "file", { code });
}

/**
 * Wraps an SDK error from `what` (e.g. "cannot upload aa/bb/x") into a BackendError: credential,
 * permission and bucket problems stop the target; throttling, 5xx and network errors (which
 * the SDK has retried already) are transient; anything else concerns this file only.
 * `scope` overrides the computed scope for failures other than the target-wide ones.
 */
export function s3Error(
  err: unknown,
  what: string,
  t: S3Target,
  scope?: FailureScope,
): BackendError {
  if (err instanceof BackendError) return err;
  const target = targetMessage(err, t);
  const code = errorCode(err) || (err as SdkError)?.code;
  if (target) {
    const denied = DENIED.has(errorCode(err)) || httpStatus(err) === 403;
    return new BackendError(target, "target", { cause: err, code, denied });
  }
  const where = t.endpoint && isTransient(err) && httpStatus(err) === undefined
    ? ` (endpoint ${t.endpoint})`
    : "";
  return new BackendError(
    `${what}: ${firstLine(err)}${where}`,
    scope ?? (isTransient(err) ? "transient" : "file"),
    { cause: err, code },
  );
}
