/**
 * Deleting keys in bulk: DeleteObjects with up to 1,000 keys, except keys that XML 1.0 cannot
 * carry (most control characters), which go through DeleteObject one by one, as do the keys of a
 * DeleteObjects request that the store refuses as a whole with 400 (a malformed request must not
 * keep 999 other keys from going). A request cut by an abort after the store had it may still be
 * carried out: a short check (HeadObject, or a listing of the batch's key range) tells which
 * keys are gone; the others are in doubt.
 */
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { BackendError } from "../backend.ts";
import { httpStatus, isNotFound, keyError, s3Error, type S3Target } from "./errors.ts";
import { abortedBeforeSending } from "../http/transport.ts";

/** How long the check of keys in doubt after an abort may take, in ms. */
export const DOUBT_CHECK_MS = 400;
/** Single DeleteObject requests in flight at once (for keys that cannot go in bulk). */
const SINGLE_CONCURRENCY = 16;
/** Up to this many keys in doubt are checked with one HeadObject each, more with a listing. */
const HEAD_CHECK_MAX = 32;

/** What deleting keys needs. */
export interface DeleteContext {
  client: S3Client;
  bucket: string;
  target: S3Target;
}

/** Whether XML 1.0 can carry `key` (it has no room for most control characters). */
export function xmlSafe(key: string): boolean {
  // deno-lint-ignore no-control-regex
  return !/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/.test(key) && key.isWellFormed();
}

/** Per key: deleted (undefined), not deleted (an error), or in doubt after an abort. */
type Result = Error | "inDoubt" | undefined;

/**
 * Deletes `keys`; returns what became of each. An abort rejects only when no request had reached
 * the store; otherwise keys of cut requests are checked (see DOUBT_CHECK_MS).
 */
export async function deleteKeys(
  ctx: DeleteContext,
  keys: readonly string[],
  signal?: AbortSignal,
): Promise<Map<string, Result>> {
  const results = new Map<string, Result>();
  const bulk = keys.filter(xmlSafe);
  const single = keys.filter((k) => !xmlSafe(k));
  /** Keys whose request was cut after the store had it. */
  const sent: string[] = [];
  /** Keys whose request never reached the store because of the abort. */
  const unsent: string[] = [];
  const cut = (err: unknown, batch: readonly string[]): boolean => {
    if (!signal?.aborted) return false;
    (abortedBeforeSending(err) ? unsent : sent).push(...batch);
    return true;
  };
  if (bulk.length > 0) {
    try {
      const out = await ctx.client.send(
        new DeleteObjectsCommand({
          Bucket: ctx.bucket,
          Delete: { Objects: bulk.map((Key) => ({ Key })), Quiet: true },
        }),
        { abortSignal: signal },
      );
      for (const key of bulk) results.set(key, undefined);
      for (const e of out.Errors ?? []) {
        if (e.Key === undefined || e.Code === "NoSuchKey" || !results.has(e.Key)) continue;
        results.set(e.Key, keyError(e.Code, e.Message));
      }
    } catch (err) {
      if (!cut(err, bulk)) {
        const error = s3Error(err, `cannot delete ${bulk.length} objects`, ctx.target);
        // A request refused as malformed: the keys may still go one by one.
        if (httpStatus(err) !== 400 || error.scope === "target") throw error;
        single.push(...bulk);
      }
    }
  }
  let next = 0;
  let fatal: { error: unknown } | undefined;
  const lane = async () => {
    while (next < single.length && !fatal) {
      const key = single[next++];
      if (signal?.aborted) {
        unsent.push(key);
        continue;
      }
      try {
        await ctx.client.send(
          new DeleteObjectCommand({ Bucket: ctx.bucket, Key: key }),
          { abortSignal: signal },
        );
        results.set(key, undefined);
      } catch (err) {
        if (cut(err, [key])) continue;
        if (isNotFound(err)) results.set(key, undefined);
        else {
          try {
            results.set(key, singleError(err, key, ctx.target));
          } catch (error) {
            fatal ??= { error };
          }
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SINGLE_CONCURRENCY, single.length) }, lane));
  if (fatal) throw fatal.error;
  if (sent.length + unsent.length === 0) return results;
  if (sent.length === 0 && results.size === 0) throw signal!.reason;
  const there = await stillThere(ctx, [...sent, ...unsent]);
  const gone = (key: string) => there.get(key) === false;
  for (const key of unsent) results.set(key, gone(key) ? undefined : signal!.reason);
  for (const key of sent) results.set(key, gone(key) ? undefined : "inDoubt");
  return results;
}

/**
 * The error of one key's DeleteObject: refused access concerns that key (as inside a
 * DeleteObjects answer); credentials and a missing bucket stop the target.
 */
function singleError(err: unknown, key: string, target: S3Target): BackendError {
  const error = s3Error(err, `cannot delete ${key}`, target);
  const code = (err as { name?: string })?.name;
  if (error.scope === "target" && code !== "AccessDenied" && httpStatus(err) !== 403) throw error;
  return error.scope === "target" ? keyError(code ?? "AccessDenied", "Access Denied") : error;
}

/**
 * Which of `keys` exist, as far as a check within DOUBT_CHECK_MS tells: per key whether it is
 * there; keys missing from the map could not be checked in time.
 */
async function stillThere(
  ctx: DeleteContext,
  keys: readonly string[],
): Promise<Map<string, boolean>> {
  const signal = AbortSignal.timeout(DOUBT_CHECK_MS);
  const found = new Map<string, boolean>();
  const sorted = [...keys].sort();
  if (sorted.length <= HEAD_CHECK_MAX) {
    await Promise.all(sorted.map(async (Key) => {
      try {
        await ctx.client.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key }), {
          abortSignal: signal,
        });
        found.set(Key, true);
      } catch (err) {
        if (!signal.aborted && isNotFound(err)) found.set(Key, false);
      }
    }));
    return found;
  }
  // A listing of the key range the keys span (sorted batches keep it short).
  const first = sorted[0];
  const last = sorted.at(-1)!;
  const wanted = new Set(sorted);
  /** Every key up to here was seen (or is gone). */
  let seenUpTo = "";
  try {
    let token: string | undefined;
    do {
      const out = await ctx.client.send(
        new ListObjectsV2Command({
          Bucket: ctx.bucket,
          Prefix: commonPrefix(first, last),
          StartAfter: token ? undefined : first.slice(0, -1),
          ContinuationToken: token,
        }),
        { abortSignal: signal },
      );
      let end = false;
      for (const o of out.Contents ?? []) {
        if (o.Key === undefined) continue;
        if (o.Key > last) end = true;
        else if (wanted.has(o.Key)) found.set(o.Key, true);
        seenUpTo = o.Key;
      }
      if (end || !out.IsTruncated) seenUpTo = last;
      token = end || !out.IsTruncated ? undefined : out.NextContinuationToken;
    } while (token);
  } catch {
    // out of time (or the store failed): keys beyond what was seen stay unknown
  }
  for (const key of sorted) if (key <= seenUpTo && !found.has(key)) found.set(key, false);
  return found;
}

function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}
