/**
 * Listing a key prefix completely and in parallel. A small tree costs one request. A larger one
 * (the first page was truncated) is split at its top-level "directories", found by one delimiter
 * listing: the 256 `HH/` hash directories in 16 groups by their first hex digit, and any others
 * (such as native `NATIVELSBSTRING/` trees) on their own; each part is then paged through, a
 * bounded number of requests at a time.
 */
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { BackendError, checkPath, type Entry } from "../backend.ts";
import { s3Error, type S3Target } from "./errors.ts";

/** One ListObjectsV2 request. */
export interface ListParams {
  prefix: string;
  delimiter?: "/";
  startAfter?: string;
  continuationToken?: string;
}

/** One ListObjectsV2 page. */
export interface ListPage {
  objects: { key: string; size: number; mtime: number }[];
  /** Common prefixes (with a delimiter), each ending in "/". */
  prefixes: string[];
  /** Continuation token when the listing is truncated. */
  next?: string;
}

/** Sends one list request. */
export type ListRequest = (params: ListParams, signal: AbortSignal) => Promise<ListPage>;

/** What a listing of a bucket needs. */
export interface ListContext {
  client: S3Client;
  bucket: string;
  /** The cache's location, for messages. */
  displayUrl: string;
  target: S3Target;
}

/**
 * ListObjectsV2 requests of a bucket: a page that says it is truncated but has no token, and a
 * refused request, are failures of the whole listing (of the target).
 */
export function listObjects(ctx: ListContext): ListRequest {
  return async (params, signal) => {
    try {
      const out = await ctx.client.send(
        new ListObjectsV2Command({
          Bucket: ctx.bucket,
          Prefix: params.prefix,
          Delimiter: params.delimiter,
          StartAfter: params.startAfter,
          ContinuationToken: params.continuationToken,
        }),
        { abortSignal: signal },
      );
      if (out.IsTruncated && !out.NextContinuationToken) {
        throw new BackendError(`listing ${ctx.displayUrl}: truncated page without a token`);
      }
      return {
        objects: (out.Contents ?? []).map((o) => ({
          key: o.Key ?? "",
          size: o.Size ?? 0,
          mtime: o.LastModified?.getTime() ?? 0,
        })),
        prefixes: (out.CommonPrefixes ?? []).map((p) => p.Prefix ?? "").filter((p) => p),
        next: out.IsTruncated ? out.NextContinuationToken : undefined,
      };
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw new BackendError(
        s3Error(err, `cannot list ${ctx.displayUrl}`, ctx.target).message,
        "target",
        { cause: err },
      );
    }
  };
}

/** Options of `listPrefix`. */
export interface ParallelListOptions {
  /** Most list requests in flight. */
  concurrency: number;
  signal?: AbortSignal;
  /** Told about each key that cannot be a cache path (e.g. containing `//` or `..`). */
  onWarning?: (message: string) => void;
}

/** A hash directory below a tree (`HH/`): splitting it further does not pay. */
const HASH_DIR = /(^|\/)[0-9a-f]{2}\/$/;

/** Pages of entries waiting for the consumer, at most (producers wait beyond it). */
const MAX_QUEUED_PAGES = 64;

/** A counting semaphore whose waits end on abort. */
class Slots {
  #free: number;
  #waiting: (() => void)[] = [];
  constructor(count: number) {
    this.#free = Math.max(1, count);
  }
  async acquire(signal: AbortSignal): Promise<void> {
    while (this.#free === 0) {
      signal.throwIfAborted();
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener("abort", done);
          resolve();
        };
        this.#waiting.push(done);
        signal.addEventListener("abort", done, { once: true });
      });
    }
    signal.throwIfAborted();
    this.#free--;
  }
  release(): void {
    this.#free++;
    this.#waiting.shift()?.();
  }
}

/**
 * Every object below `root` (a prefix ending in "/", or "" for the whole bucket), a page of
 * entries at a time, with paths relative to `root`. Keys that are not valid cache paths are
 * skipped with a warning; "folder" marker objects (keys ending in "/") silently.
 */
export async function* listPrefix(
  request: ListRequest,
  root: string,
  options: ParallelListOptions,
): AsyncGenerator<Entry[]> {
  options.signal?.throwIfAborted();
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const slots = new Slots(options.concurrency);
  const queue: Entry[][] = [];
  const producers: (() => void)[] = [];
  let wakeConsumer: (() => void) | undefined;
  let running = 0;
  let failure: { error: unknown } | undefined;

  const wake = () => {
    wakeConsumer?.();
    wakeConsumer = undefined;
  };
  const entries = (page: ListPage): Entry[] => {
    const out: Entry[] = [];
    for (const o of page.objects) {
      if (!o.key.startsWith(root) || o.key.endsWith("/")) continue;
      const path = o.key.slice(root.length);
      try {
        checkPath(path);
      } catch {
        options.onWarning?.(`skipping key that is not a valid cache path: ${o.key}`);
        continue;
      }
      out.push({ path, size: o.size, mtime: o.mtime });
    }
    return out;
  };
  const emit = async (page: ListPage) => {
    const batch = entries(page);
    if (batch.length === 0) return;
    queue.push(batch);
    wake();
    while (queue.length > MAX_QUEUED_PAGES && !signal.aborted) {
      await new Promise<void>((resolve) => producers.push(resolve));
    }
  };
  const send = async (params: ListParams): Promise<ListPage> => {
    await slots.acquire(signal);
    try {
      return await request(params, signal);
    } finally {
      slots.release();
    }
  };
  const spawn = (task: () => Promise<void>) => {
    running++;
    task().catch((error) => {
      failure ??= { error };
      stop.abort();
    }).finally(() => {
      running--;
      wake();
    });
  };
  /** Pages through `prefix` from `startAfter` on; with `nested`, only keys below a directory. */
  const page = async (prefix: string, startAfter: string | undefined, nested = false) => {
    let token: string | undefined;
    do {
      const got = await send({ prefix, startAfter, continuationToken: token });
      const depth = nested ? prefix.length - 1 : 0;
      await emit(
        nested ? { ...got, objects: got.objects.filter((o) => o.key.includes("/", depth)) } : got,
      );
      token = got.next;
    } while (token);
  };
  /**
   * Lists the directory `prefix`. When its first page is truncated, the rest is split: the
   * sub-directories named by one delimiter listing, grouped by their first character when it is
   * a hex digit (`0`–`f`: the 256 hash directories become 16 streams of pages), are each paged
   * through in parallel. Hash directories themselves are never split.
   */
  const scan = async (prefix: string, startAfter: string | undefined) => {
    const first = await send({ prefix, startAfter });
    await emit(first);
    const last = first.objects.at(-1)?.key;
    if (!first.next || last === undefined || HASH_DIR.test(prefix.slice(root.length))) {
      if (first.next) await page(prefix, last);
      return;
    }
    // The directory the first page ended in is not over yet.
    const slash = last.indexOf("/", prefix.length);
    const dirs = new Set(slash < 0 ? [] : [last.slice(0, slash + 1)]);
    let token: string | undefined;
    do {
      const listing = await send({
        prefix,
        delimiter: "/",
        startAfter: last,
        continuationToken: token,
      });
      await emit({ objects: listing.objects, prefixes: [] }); // the files directly in `prefix`
      for (const dir of listing.prefixes) dirs.add(dir);
      token = listing.next;
    } while (token);
    const groups = new Set<string>();
    for (const dir of dirs) {
      const c = dir[prefix.length];
      if (/[0-9a-f]/.test(c)) groups.add(prefix + c);
      else spawn(() => scan(dir, last.startsWith(dir) ? last : undefined));
    }
    // A group's keys directly in `prefix` (files, not directories) came with the delimiter listing.
    for (const group of groups) {
      spawn(() => page(group, last.startsWith(group) ? last : undefined, true));
    }
  };

  spawn(() => scan(root, undefined));
  try {
    while (true) {
      if (failure) {
        options.signal?.throwIfAborted();
        throw failure.error;
      }
      const batch = queue.shift();
      if (batch) {
        producers.shift()?.();
        yield batch;
        continue;
      }
      if (running === 0) return;
      await new Promise<void>((resolve) => (wakeConsumer = resolve));
    }
  } finally {
    stop.abort();
    for (const resume of producers.splice(0)) resume();
  }
}
