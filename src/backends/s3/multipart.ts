/**
 * Multipart upload of a large file: parts streamed from byte ranges of the file, several at a
 * time, and the upload aborted on any failure so that no parts are left behind (within a short
 * time after an interrupt: what a killed or hurried run leaves, `clean` aborts later, see
 * `listIncomplete`).
 */
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { abortedUnchanged, type Leftover, type PutResult } from "../backend.ts";
import { FileBody } from "./body.ts";
import { errorCode, isNotFound, isPreconditionFailed } from "./errors.ts";
import { abortedBeforeSending } from "../http/transport.ts";

/** S3's limits: at most 10,000 parts, each at least 5 MiB (except the last). */
const MAX_PARTS = 10_000;
const MIB = 1024 * 1024;
/** How long aborting an upload may take after the caller's abort (an interrupt), in ms. */
export const ABORT_AFTER_INTERRUPT_MS = 400;

/** What one multipart upload needs. */
export interface MultipartUpload {
  client: S3Client;
  bucket: string;
  key: string;
  file: string;
  size: number;
  /** Preferred part size; raised where the file would need more than 10,000 parts. */
  partSize: number;
  /** Parts in flight at once. */
  concurrency: number;
  ifAbsent: boolean;
  signal?: AbortSignal;
  /** Bounds aborting the upload after a failure (the stall timeout). */
  cleanupTimeoutMs: number;
}

/** The part size for `size` bytes: `preferred`, or larger (whole MiB) to stay within 10,000. */
export function partSizeFor(size: number, preferred: number): number {
  return Math.max(preferred, Math.ceil(size / MAX_PARTS / MIB) * MIB, 5 * MIB);
}

async function objectExists(u: MultipartUpload): Promise<boolean> {
  try {
    await u.client.send(
      new HeadObjectCommand({ Bucket: u.bucket, Key: u.key }),
      { abortSignal: u.signal },
    );
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/**
 * Uploads `u.file` in parts. With `ifAbsent`, the object is checked for before the upload and
 * again before it is completed, and the completion carries `If-None-Match: *` for stores that
 * honour it there (AWS does; some S3-compatible stores ignore it on this request, which leaves
 * a window of one request in which a concurrent writer of the same key can be overwritten).
 * Aborted before the completion was sent, it rejects with `abortedUnchanged`: nothing stored.
 */
export async function uploadMultipart(u: MultipartUpload): Promise<PutResult> {
  let completing = false;
  try {
    return await upload(u, () => completing = true);
  } catch (err) {
    if (u.signal?.aborted && (!completing || abortedBeforeSending(err))) {
      throw abortedUnchanged(u.signal);
    }
    throw err;
  }
}

async function upload(u: MultipartUpload, completing: () => void): Promise<PutResult> {
  if (u.ifAbsent && await objectExists(u)) return "exists";
  const created = await u.client.send(
    new CreateMultipartUploadCommand({ Bucket: u.bucket, Key: u.key }),
    { abortSignal: u.signal },
  );
  const uploadId = created.UploadId!;
  let completed = false;
  try {
    const parts = await uploadParts(u, uploadId);
    if (u.ifAbsent && await objectExists(u)) return "exists";
    try {
      completing();
      await u.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: u.bucket,
          Key: u.key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
          IfNoneMatch: u.ifAbsent ? "*" : undefined,
        }),
        { abortSignal: u.signal },
      );
    } catch (err) {
      if (u.ifAbsent && isPreconditionFailed(err)) return "exists";
      throw err;
    }
    completed = true;
    return "stored";
  } finally {
    if (!completed) {
      // Not with the caller's signal, which may be the abort that got us here; briefly after an
      // interrupt, which must not wait for a store that does not answer.
      const ms = u.signal?.aborted ? ABORT_AFTER_INTERRUPT_MS : u.cleanupTimeoutMs;
      await u.client.send(
        new AbortMultipartUploadCommand({ Bucket: u.bucket, Key: u.key, UploadId: uploadId }),
        { abortSignal: AbortSignal.timeout(ms) },
      ).catch(() => {});
    }
  }
}

async function uploadParts(u: MultipartUpload, uploadId: string): Promise<CompletedPart[]> {
  const partSize = partSizeFor(u.size, u.partSize);
  const count = Math.max(1, Math.ceil(u.size / partSize));
  const parts: CompletedPart[] = new Array(count);
  const stop = new AbortController();
  const signal = u.signal ? AbortSignal.any([u.signal, stop.signal]) : stop.signal;
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const start = i * partSize;
      const length = Math.min(partSize, u.size - start);
      const out = await u.client.send(
        new UploadPartCommand({
          Bucket: u.bucket,
          Key: u.key,
          UploadId: uploadId,
          PartNumber: i + 1,
          // deno-lint-ignore no-explicit-any
          Body: new FileBody(u.file, start, length) as any,
          ContentLength: length,
        }),
        { abortSignal: signal },
      );
      parts[i] = { PartNumber: i + 1, ETag: out.ETag };
    }
  };
  const lanes = Array.from({ length: Math.min(u.concurrency, count) }, () =>
    lane().catch((err) => {
      stop.abort();
      throw err;
    }));
  const results = await Promise.allSettled(lanes);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    // The first real failure, not the aborts it caused in the other lanes.
    const first = results.find((r): r is PromiseRejectedResult =>
      r.status === "rejected" && !(r.reason instanceof Error && r.reason.name === "AbortError")
    );
    throw (first ?? failed).reason;
  }
  return parts;
}

/** Every multipart upload below `prefix` that was started and neither completed nor aborted. */
export async function listIncomplete(
  client: S3Client,
  bucket: string,
  prefix: string,
  signal?: AbortSignal,
): Promise<Leftover[]> {
  const uploads: Leftover[] = [];
  let keyMarker: string | undefined;
  let idMarker: string | undefined;
  do {
    const out = await client.send(
      new ListMultipartUploadsCommand({
        Bucket: bucket,
        Prefix: prefix,
        KeyMarker: keyMarker,
        UploadIdMarker: idMarker,
      }),
      { abortSignal: signal },
    );
    for (const u of out.Uploads ?? []) {
      if (!u.Key?.startsWith(prefix) || !u.UploadId) continue;
      uploads.push({
        path: u.Key.slice(prefix.length),
        size: 0,
        started: u.Initiated?.getTime() ?? 0,
        orphaned: false,
        uploadId: u.UploadId,
      });
    }
    const more = out.IsTruncated && (out.NextKeyMarker || out.NextUploadIdMarker);
    keyMarker = more ? out.NextKeyMarker : undefined;
    idMarker = more ? out.NextUploadIdMarker : undefined;
  } while (keyMarker !== undefined || idMarker !== undefined);
  return uploads;
}

/** Aborts the multipart upload `id` of `key`; one that is gone already is fine. */
export async function abortIncomplete(
  client: S3Client,
  bucket: string,
  key: string,
  id: string,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await client.send(
      new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: id }),
      { abortSignal: signal },
    );
  } catch (err) {
    if (!signal?.aborted && (isNotFound(err) || errorCode(err) === "NoSuchUpload")) return;
    throw err;
  }
}
