/**
 * Recording the use of an object on S3: a server-side copy of the object onto itself with
 * `MetadataDirective: REPLACE`, which gives it a new `LastModified` without sending its data.
 * The content type, metadata, storage class and encryption that one HeadObject read are sent
 * along, so they are kept; the copy is conditional on that HeadObject's ETag, so an object
 * replaced meanwhile is left alone (it is new anyway). S3 copies at most 5 GiB in one request:
 * larger objects are copied in parts (UploadPartCopy) of one multipart upload, which replaces
 * the object only when it completes. Either way readers see the whole object throughout.
 */
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  type S3Client,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { isNotFound, isPreconditionFailed } from "./errors.ts";
import { partSizeFor } from "./multipart.ts";

/** The largest object one CopyObject request copies (S3's limit). */
export const COPY_LIMIT = 5 * 1024 ** 3;
/** Preferred part size of a multipart copy. */
export const COPY_PART_SIZE = 512 * 1024 ** 2;
/** Parts of one multipart copy in flight at once. */
const COPY_CONCURRENCY = 4;

/** Where a refresh copies, and how it splits large objects. */
export interface TouchTarget {
  client: S3Client;
  bucket: string;
  /** Objects above this size are copied in parts (COPY_LIMIT; smaller in tests). */
  copyLimit: number;
  /** Preferred part size of those copies (COPY_PART_SIZE; smaller in tests). */
  partSize: number;
  /** Bounds aborting a failed multipart copy. */
  cleanupTimeoutMs: number;
}

/** What the copy must carry so that nothing but `LastModified` changes. */
function kept(head: HeadObjectCommandOutput) {
  const kms = head.ServerSideEncryption === "aws:kms" ||
    head.ServerSideEncryption === "aws:kms:dsse";
  return {
    ContentType: head.ContentType,
    ContentEncoding: head.ContentEncoding,
    ContentDisposition: head.ContentDisposition,
    ContentLanguage: head.ContentLanguage,
    CacheControl: head.CacheControl,
    Expires: head.Expires,
    WebsiteRedirectLocation: head.WebsiteRedirectLocation,
    Metadata: head.Metadata ?? {},
    StorageClass: head.StorageClass,
    ServerSideEncryption: kms ? head.ServerSideEncryption : undefined,
    SSEKMSKeyId: kms ? head.SSEKMSKeyId : undefined,
  };
}

/** `bucket/key` for `x-amz-copy-source`, each segment of the key percent-encoded. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

/**
 * Gives the object at `key` a new `LastModified` now, keeping its content and settings. False
 * when there is no such object.
 */
export async function touchObject(
  t: TouchTarget,
  key: string,
  signal?: AbortSignal,
): Promise<boolean> {
  let head: HeadObjectCommandOutput;
  try {
    head = await t.client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: key }), {
      abortSignal: signal,
    });
  } catch (err) {
    if (!signal?.aborted && isNotFound(err)) return false;
    throw err;
  }
  const size = head.ContentLength ?? 0;
  try {
    if (size > t.copyLimit) await copyInParts(t, key, head, size, signal);
    else {
      await t.client.send(
        new CopyObjectCommand({
          Bucket: t.bucket,
          Key: key,
          CopySource: copySource(t.bucket, key),
          CopySourceIfMatch: head.ETag,
          MetadataDirective: "REPLACE",
          ...kept(head),
        }),
        { abortSignal: signal },
      );
    }
    return true;
  } catch (err) {
    if (signal?.aborted) throw err;
    // Replaced since the HeadObject: the new object is as recent as a refresh would make it.
    if (isPreconditionFailed(err)) return true;
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** The multipart copy of an object onto itself; aborted (its parts freed) on any failure. */
async function copyInParts(
  t: TouchTarget,
  key: string,
  head: HeadObjectCommandOutput,
  size: number,
  signal?: AbortSignal,
): Promise<void> {
  const created = await t.client.send(
    new CreateMultipartUploadCommand({ Bucket: t.bucket, Key: key, ...kept(head) }),
    { abortSignal: signal },
  );
  const uploadId = created.UploadId!;
  let completed = false;
  try {
    const partSize = partSizeFor(size, t.partSize);
    const count = Math.ceil(size / partSize);
    const parts: CompletedPart[] = new Array(count);
    let next = 0;
    const lane = async () => {
      while (next < count) {
        const i = next++;
        const start = i * partSize;
        const end = Math.min(size, start + partSize) - 1;
        const out = await t.client.send(
          new UploadPartCopyCommand({
            Bucket: t.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: i + 1,
            CopySource: copySource(t.bucket, key),
            CopySourceIfMatch: head.ETag,
            CopySourceRange: `bytes=${start}-${end}`,
          }),
          { abortSignal: signal },
        );
        parts[i] = { PartNumber: i + 1, ETag: out.CopyPartResult?.ETag };
      }
    };
    await Promise.all(Array.from({ length: Math.min(COPY_CONCURRENCY, count) }, lane));
    await t.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: t.bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
      { abortSignal: signal },
    );
    completed = true;
  } finally {
    if (!completed) {
      await t.client.send(
        new AbortMultipartUploadCommand({ Bucket: t.bucket, Key: key, UploadId: uploadId }),
        { abortSignal: AbortSignal.timeout(signal?.aborted ? 400 : t.cleanupTimeoutMs) },
      ).catch(() => {});
    }
  }
}
