/**
 * `s3://bucket[/prefix]` backend: AWS S3 and S3-compatible stores (Ceph RGW, MinIO, ...), through
 * the AWS SDK, whose own retries are the only retry layer.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import {
  abortedUnchanged,
  type Backend,
  BackendError,
  type CallOptions,
  checkPath,
  type DeleteOutcome,
  type Entry,
  type Features,
  isUnchanged,
  type Leftover,
  type ListOptions,
  MAX_BULK_DELETE,
  type PutOptions,
  type PutResult,
  type PutSource,
} from "../backend.ts";
import type { LocationOptions } from "../url.ts";
import { BUFFERED_BODY_MAX, FileBody, plainMd5, readFileRange } from "./body.ts";
import { createClient } from "./client.ts";
import {
  type Env,
  resolveS3Location,
  S3_DEFAULT_JOBS,
  S3_FEATURES,
  type S3Location,
} from "./config.ts";
import { deleteKeys } from "./delete.ts";
import {
  isNoSuchBucket,
  isNotFound,
  isPreconditionFailed,
  s3Error,
  type S3Target,
} from "./errors.ts";
import { abortedBeforeSending } from "../http/transport.ts";
import { listObjects, listPrefix } from "./list.ts";
import { abortIncomplete, listIncomplete, uploadMultipart } from "./multipart.ts";
import { type StallListener, stallTimeoutMs } from "../http/stall.ts";
import { COPY_LIMIT, COPY_PART_SIZE, touchObject, type TouchTarget } from "./touch.ts";

/** Files above this size are uploaded in parts, several at a time. */
export const MULTIPART_THRESHOLD = 64 * 1024 * 1024;
/** Part size of multipart uploads. */
const PART_SIZE = 16 * 1024 * 1024;
/** Parts of one file in flight at once. */
const PART_CONCURRENCY = 4;
/** List requests in flight at once. */
const LIST_CONCURRENCY = 16;
/** Extra settings: explicit credentials (tests), the environment, who hears of stalls. */
export interface S3BackendSettings {
  credentials?: S3ClientConfig["credentials"];
  /** The environment to resolve the location in (default: the process environment). */
  env?: Env;
  /** Told (at most once per stall timeout) when requests stall. */
  onStall?: StallListener;
  /** Objects above this size are refreshed by a multipart copy (default COPY_LIMIT; tests). */
  copyLimit?: number;
  /** Preferred part size of those copies (default COPY_PART_SIZE; tests). */
  copyPartSize?: number;
}

/** A cache under a key prefix of an S3 bucket. */
export class S3Backend implements Backend {
  readonly displayUrl: string;
  readonly features: Features = S3_FEATURES;
  readonly defaultJobs = S3_DEFAULT_JOBS;
  readonly location: S3Location;
  /** The SDK client (exposed for instrumentation). */
  readonly client: S3Client;
  /** A request without a byte sent or received for this long fails (and is retried). */
  readonly stallTimeoutMs: number;
  readonly #target: S3Target;
  readonly #touch: TouchTarget;

  /**
   * `location` is an `s3://` URL (resolved with `options` and the environment, without reading
   * the shared config files: open.ts reads them) or a location resolved already.
   */
  constructor(
    location: string | S3Location,
    options: LocationOptions = {},
    settings: S3BackendSettings = {},
  ) {
    const env = settings.env ?? Deno.env.toObject();
    this.location = typeof location === "string"
      ? resolveS3Location(location, options, env)
      : location;
    this.displayUrl = this.location.displayUrl;
    this.#target = this.location;
    this.stallTimeoutMs = stallTimeoutMs(env);
    this.client = createClient(this.location, {
      env,
      credentials: settings.credentials,
      stallTimeoutMs: this.stallTimeoutMs,
      onStall: settings.onStall,
    });
    this.#touch = {
      client: this.client,
      bucket: this.location.bucket,
      copyLimit: settings.copyLimit ?? COPY_LIMIT,
      partSize: settings.copyPartSize ?? COPY_PART_SIZE,
      cleanupTimeoutMs: this.stallTimeoutMs,
    };
  }

  #key(path: string): string {
    return this.location.prefix + checkPath(path);
  }

  #fail(err: unknown, what: string, signal?: AbortSignal): never {
    if (signal?.aborted) throw signal.reason;
    throw s3Error(err, what, this.#target);
  }

  /**
   * True when the bucket is there and the prefix can be listed; false only when the bucket does
   * not exist. A one-key listing rather than HeadBucket: its errors carry a code (a HEAD
   * response cannot tell a wrong secret from a denied access), and it works with permissions
   * granted on the prefix only.
   */
  async exists(options: CallOptions = {}): Promise<boolean> {
    const { signal } = options;
    signal?.throwIfAborted();
    try {
      await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.location.bucket,
          Prefix: this.location.prefix,
          MaxKeys: 1,
        }),
        { abortSignal: signal },
      );
      return true;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (isNoSuchBucket(err)) return false;
      const { message, code, denied } = s3Error(
        err,
        `cannot access ${this.displayUrl}`,
        this.#target,
      );
      throw new BackendError(message, "target", { cause: err, code, denied });
    }
  }

  /**
   * A prefix needs no creating; a missing bucket is an error: buckets carry region, policies and
   * costs that their owner decides, and creating one for a mistyped name would hide the typo.
   */
  async create(options: CallOptions = {}): Promise<void> {
    if (await this.exists(options)) return;
    throw new BackendError(
      `bucket '${this.location.bucket}' does not exist (${this.displayUrl}); create it first ` +
        "(isar-sstate never creates buckets)",
      "target",
    );
  }

  list(options: ListOptions = {}): AsyncIterable<Entry[]> {
    const { client, location, displayUrl } = this;
    const request = listObjects({
      client,
      bucket: location.bucket,
      displayUrl,
      target: this.#target,
    });
    return listPrefix(request, this.location.prefix, {
      concurrency: LIST_CONCURRENCY,
      signal: options.signal,
      onWarning: options.onWarning,
    });
  }

  async stat(path: string, options: CallOptions = {}): Promise<Entry | null> {
    const key = this.#key(path);
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.location.bucket, Key: key }),
        { abortSignal: options.signal },
      );
      return { path, size: out.ContentLength ?? 0, mtime: out.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (!options.signal?.aborted && isNotFound(err)) return null;
      this.#fail(err, `cannot stat ${path}`, options.signal);
    }
  }

  /**
   * Uploads `source`: in one PutObject request up to MULTIPART_THRESHOLD (from memory up to
   * BUFFERED_BODY_MAX, else streamed from the file), in parts above it. `ifAbsent` sends `If-None-Match: *`, and a 412 means
   * the object is there already. The stored object is checked: its ETag against the MD5 of the
   * bytes sent where the ETag is an MD5, else its size with one HeadObject.
   */
  async put(path: string, source: PutSource, options: PutOptions = {}): Promise<PutResult> {
    const key = this.#key(path);
    const { signal } = options;
    signal?.throwIfAborted();
    let size: number;
    try {
      const info = Deno.statSync(source.file); // see readFileRange
      if (!info.isFile) throw new Error("not a regular file");
      size = info.size;
    } catch (err) {
      throw new BackendError(
        `cannot read ${source.file}: ${err instanceof Error ? err.message : err}`,
        "file",
        { cause: err },
      );
    }
    if (size !== source.size) {
      throw new BackendError(
        `${source.file} has ${size} bytes, expected ${source.size}: not uploaded`,
        "file",
      );
    }
    try {
      if (size > MULTIPART_THRESHOLD) {
        const result = await uploadMultipart({
          client: this.client,
          bucket: this.location.bucket,
          key,
          file: source.file,
          size,
          partSize: PART_SIZE,
          concurrency: PART_CONCURRENCY,
          ifAbsent: !!options.ifAbsent,
          signal,
          cleanupTimeoutMs: this.stallTimeoutMs,
        });
        if (result === "stored") await this.#verifySize(path, key, size, signal);
        return result;
      }
      return await this.#putObject(path, key, source.file, size, options);
    } catch (err) {
      if (isUnchanged(err)) throw err;
      if (!signal?.aborted && options.ifAbsent && isPreconditionFailed(err)) return "exists";
      this.#fail(err, `cannot upload ${path}`, signal);
    }
  }

  async #putObject(
    path: string,
    key: string,
    file: string,
    size: number,
    options: PutOptions,
  ): Promise<PutResult> {
    const body = size <= BUFFERED_BODY_MAX
      ? readFileRange(file, 0, size)
      : new FileBody(file, 0, size);
    const out = await this.client.send(
      new PutObjectCommand({
        Bucket: this.location.bucket,
        Key: key,
        // deno-lint-ignore no-explicit-any
        Body: (body instanceof FileBody ? body : body.bytes) as any,
        ContentLength: size,
        IfNoneMatch: options.ifAbsent ? "*" : undefined,
      }),
      { abortSignal: options.signal },
    ).catch((err) => {
      // Cut before the store had the whole body: it cannot have stored the object.
      if (options.signal?.aborted && abortedBeforeSending(err)) {
        throw abortedUnchanged(options.signal);
      }
      throw err;
    });
    const etag = plainMd5(out);
    if (etag === undefined) {
      await this.#verifySize(path, key, size, options.signal);
    } else if (etag !== body.md5) {
      await this.#discard(key);
      throw new BackendError(
        `${path}: the stored object differs from the file sent (ETag ${etag}, MD5 ${body.md5}); ` +
          "removed it",
        "transient",
      );
    }
    return "stored";
  }

  /** Checks the stored size with one HeadObject; removes the object if it is wrong. */
  async #verifySize(path: string, key: string, size: number, signal?: AbortSignal): Promise<void> {
    const out = await this.client.send(
      new HeadObjectCommand({ Bucket: this.location.bucket, Key: key }),
      { abortSignal: signal },
    );
    if (out.ContentLength !== size) {
      await this.#discard(key);
      throw new BackendError(
        `${path}: stored ${out.ContentLength} bytes instead of ${size}; removed it`,
        "transient",
      );
    }
  }

  async #discard(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: key }))
      .catch(() => {});
  }

  async read(path: string, options: CallOptions = {}): Promise<Uint8Array | null> {
    const key = this.#key(path);
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.location.bucket, Key: key }),
        { abortSignal: options.signal },
      );
      return await out.Body!.transformToByteArray();
    } catch (err) {
      if (!options.signal?.aborted && isNotFound(err)) return null;
      this.#fail(err, `cannot read ${path}`, options.signal);
    }
  }

  async delete(path: string, options: CallOptions = {}): Promise<void> {
    const key = this.#key(path);
    try {
      await this.client.send(
        new DeleteObjectCommand({ Bucket: this.location.bucket, Key: key }),
        { abortSignal: options.signal },
      );
    } catch (err) {
      if (!options.signal?.aborted && isNotFound(err)) return;
      this.#fail(err, `cannot delete ${path}`, options.signal);
    }
  }

  /**
   * Deletes up to MAX_BULK_DELETE paths with one DeleteObjects request (keys XML cannot carry, and
   * those of a request refused as malformed, one by one: see delete.ts). A key the response
   * lists as refused is an error of that path ("file"); a refused request fails them all
   * (throws).
   */
  async deleteMany(paths: readonly string[], options: CallOptions = {}): Promise<DeleteOutcome[]> {
    if (paths.length > MAX_BULK_DELETE) {
      throw new BackendError(
        `deleteMany takes at most ${MAX_BULK_DELETE} paths, not ${paths.length}`,
      );
    }
    options.signal?.throwIfAborted();
    const outcomes = new Map<string, DeleteOutcome>();
    const byKey = new Map<string, string>();
    for (const path of paths) {
      try {
        byKey.set(this.#key(path), path);
      } catch (err) {
        outcomes.set(path, { path, error: err as BackendError });
      }
    }
    if (byKey.size > 0) {
      const context = { client: this.client, bucket: this.location.bucket, target: this.#target };
      const results = await deleteKeys(context, [...byKey.keys()], options.signal);
      for (const [key, result] of results) {
        const path = byKey.get(key)!;
        if (result === "inDoubt") outcomes.set(path, { path, inDoubt: true });
        else outcomes.set(path, result ? { path, error: result } : { path });
      }
    }
    return paths.map((path) => outcomes.get(path)!);
  }

  /**
   * Gives the object a new `LastModified` by copying it onto itself (see touch.ts): no data is
   * sent, and its content type and metadata are kept. False when it does not exist.
   */
  async markUsed(path: string, options: CallOptions = {}): Promise<boolean> {
    const key = this.#key(path);
    try {
      return await touchObject(this.#touch, key, options.signal);
    } catch (err) {
      this.#fail(err, `cannot mark ${path} as used`, options.signal);
    }
  }

  /** Multipart uploads below the prefix that were never completed nor aborted. */
  async unfinishedUploads(options: CallOptions = {}): Promise<Leftover[]> {
    try {
      return await listIncomplete(
        this.client,
        this.location.bucket,
        this.location.prefix,
        options.signal,
      );
    } catch (err) {
      this.#fail(err, `cannot list the unfinished uploads of ${this.displayUrl}`, options.signal);
    }
  }

  /** Aborts an unfinished multipart upload, freeing its parts (one already gone is fine). */
  async removeLeftover(leftover: Leftover, options: CallOptions = {}): Promise<void> {
    if (leftover.uploadId === undefined) return await this.delete(leftover.path, options);
    const key = this.location.prefix + leftover.path;
    const { bucket } = this.location;
    try {
      await abortIncomplete(this.client, bucket, key, leftover.uploadId, options.signal);
    } catch (err) {
      this.#fail(err, `cannot abort the unfinished upload of ${leftover.path}`, options.signal);
    }
  }

  close(): Promise<void> {
    this.client.destroy();
    return Promise.resolve();
  }
}
