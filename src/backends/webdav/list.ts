/**
 * Listing a WebDAV cache: one `PROPFIND Depth: infinity` where the server allows it, else a walk
 * of the collection tree with `Depth: 1` requests, many collections at a time.
 */
import { BackendError, type Entry, isAbortError, type ListOptions } from "../backend.ts";
import { withRetry } from "../retry.ts";
import { SeenPaths } from "./seen_paths.ts";
import type { DavClient } from "./client.ts";
import {
  type DavResource,
  ISAR_NS,
  LAST_USED,
  MultistatusError,
  MultistatusParser,
} from "./xml.ts";

const PROPS_FULL = '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" ' +
  `xmlns:I="${ISAR_NS}"><D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/>` +
  `<I:${LAST_USED}/></D:prop></D:propfind>`;
const PROPS_TYPE = '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>' +
  "<D:resourcetype/></D:prop></D:propfind>";

/** Statuses with which a server declines `Depth: infinity` (Apache: 403 propfind-finite-depth). */
const NO_INFINITY = new Set([400, 403, 501]);
/** Entries waiting for the consumer before the walk stops sending requests. */
const HIGH_WATER = 20_000;

/** What a listing needs from the backend. */
export interface ListContext {
  client: DavClient;
  /** Collections listed at once by the walk. */
  jobs: number;
  /** Whether the server answered `Depth: infinity` before (undefined: not tried yet). */
  infinity?: boolean;
  /** Told about every collection seen (so that uploads need not create it). */
  onCollection: (path: string) => void;
  /** Told when a listing saw every collection of the tree (none skipped). */
  onComplete: () => void;
}

/** Apache's temporary files of uploads in progress (normally hidden from PROPFIND). */
function isServerTemp(path: string): boolean {
  const slash = path.lastIndexOf("/");
  return path.startsWith(".davfs.tmp", slash + 1);
}

/** Every file below the root, streamed in batches (a collection, a piece of one response). */
export async function* listTree(ctx: ListContext, options: ListOptions): AsyncIterable<Entry[]> {
  options.signal?.throwIfAborted();
  const metadata = options.metadata ?? true;
  let listed: SeenPaths | null = null;
  if (ctx.infinity !== false) {
    const seen = new SeenPaths();
    try {
      for await (const batch of listInfinity(ctx, options, metadata)) {
        for (const e of batch) seen.add(e.path);
        yield batch;
      }
      if (ctx.infinity) return;
    } catch (err) {
      // A one-request listing that broke off (a dropped connection) goes on as a walk, which
      // skips what was already listed.
      if (isAbortError(err) || (err instanceof BackendError && err.scope === "target")) throw err;
      listed = seen;
    }
  }
  for await (const batch of walk(ctx, options, metadata)) {
    const fresh = listed ? batch.filter((e) => !listed.has(e.path)) : batch;
    if (fresh.length > 0) yield fresh;
  }
}

/**
 * Turns the responses of a PROPFIND of `dir` into entries (and collections, via `onDir`);
 * hrefs outside the root are reported once each and skipped.
 */
function entriesOf(
  ctx: ListContext,
  resources: DavResource[],
  requestUrl: string,
  options: ListOptions,
  metadata: boolean,
  onDir: (path: string) => void,
): Entry[] {
  const out: Entry[] = [];
  for (const r of resources) {
    if (r.failed) continue;
    const path = ctx.client.relative(r.href, requestUrl);
    if (path === null) {
      options.onWarning?.(`ignoring ${r.href}: it lies outside ${ctx.client.display}`);
      continue;
    }
    if (path === "") continue;
    if (r.collection) {
      ctx.onCollection(path);
      onDir(path);
    } else if (!isServerTemp(path)) {
      const entry: Entry = metadata
        ? { path, size: Math.max(r.size, 0), mtime: r.mtime }
        : { path, size: 0, mtime: 0 };
      if (metadata && r.lastUsed > 0) entry.lastUsed = r.lastUsed;
      out.push(entry);
    }
  }
  return out;
}

/**
 * One `Depth: infinity` PROPFIND of the root, parsed while it downloads; yields nothing and sets
 * `ctx.infinity` to false when the server declines it.
 */
async function* listInfinity(
  ctx: ListContext,
  options: ListOptions,
  metadata: boolean,
): AsyncIterable<Entry[]> {
  const { client } = ctx;
  const url = client.base;
  const what = `cannot list ${client.display}`;
  using watch = client.watch(options.signal);
  const res = await withRetry(async () => {
    watch.kick();
    const res = await client.propfind(
      url,
      "infinity",
      metadata ? PROPS_FULL : PROPS_TYPE,
      what,
      watch,
    );
    if (res.status === 207 || (NO_INFINITY.has(res.status) && ctx.infinity === undefined)) {
      return res;
    }
    await res.body?.cancel();
    throw rootError(client, res, what);
  }, options.signal);
  if (res.status !== 207) {
    await res.body?.cancel();
    ctx.infinity = false;
    return;
  }
  const parser = new MultistatusParser();
  const decoder = new TextDecoder();
  const reader = res.body!.getReader();
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw client.failure(err, what, watch);
      }
      const text = chunk.done ? decoder.decode() : decoder.decode(chunk.value, { stream: true });
      const resources = parsed(() => [
        ...parser.push(text),
        ...(chunk.done ? parser.end() : []),
      ], what);
      const batch = entriesOf(ctx, resources, url, options, metadata, () => {});
      if (batch.length > 0) {
        watch.pause();
        yield batch;
      }
      watch.kick();
      if (chunk.done) break;
    }
  } finally {
    reader.releaseLock();
    await res.body?.cancel().catch(() => {});
  }
  ctx.infinity = true;
  ctx.onComplete();
}

/** The resources of a multistatus body; a malformed one is a (transient) error. */
function parsed(fn: () => DavResource[], what: string): DavResource[] {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof MultistatusError)) throw err;
    throw new BackendError(`${what}: unreadable response (${err.message})`, "transient", {
      cause: err,
    });
  }
}

/** The error of a failed listing of the root itself. */
function rootError(client: DavClient, res: Response, what: string): BackendError {
  if (res.status === 404) {
    return new BackendError(`cannot list ${client.display}: it does not exist`, "target", {
      code: "404",
    });
  }
  const err = client.statusError(res, what);
  return err.scope === "file" ? new BackendError(err.message, "target", { code: err.code }) : err;
}

/** The `Depth: 1` walk: collections listed `ctx.jobs` at a time, batches of entries streamed. */
async function* walk(
  ctx: ListContext,
  options: ListOptions,
  metadata: boolean,
): AsyncIterable<Entry[]> {
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const pending = [""];
  const visited = new Set([""]);
  const ready: Entry[][] = [];
  let buffered = 0;
  let running = 0;
  let failure = null as { err: unknown } | null;
  let skipped = false;
  let wake: (() => void) | null = null;

  const listOne = async (dir: string) => {
    const body = metadata ? PROPS_FULL : PROPS_TYPE;
    const url = ctx.client.url(dir, true);
    const what = `cannot list ${dir === "" ? ctx.client.display : dir}`;
    let resources: DavResource[];
    try {
      resources = await withRetry(async () => {
        using watch = ctx.client.watch(signal);
        const res = await ctx.client.propfind(url, "1", body, what, watch);
        if (res.status !== 207) {
          await res.body?.cancel();
          throw dir === "" ? rootError(ctx.client, res, what) : ctx.client.statusError(res, what);
        }
        const bytes = await ctx.client.readBody(res, what, watch);
        const text = new TextDecoder().decode(bytes);
        const parser = new MultistatusParser();
        return parsed(() => [...parser.push(text), ...parser.end()], what);
      }, signal);
    } catch (err) {
      if (dir === "" || isAbortError(err) || !(err instanceof BackendError)) throw err;
      if (err.scope === "target") throw err;
      if (err.code !== "404") {
        skipped = true;
        options.onWarning?.(`skipping collection ${dir}: ${err.message}`);
      }
      return;
    }
    const prefix = dir === "" ? "" : `${dir}/`;
    const inside = resources.filter((r) => {
      const path = r.failed ? null : ctx.client.relative(r.href, url);
      return path === null || path === dir || path.startsWith(prefix);
    });
    const batch = entriesOf(ctx, inside, url, options, metadata, (sub) => {
      if (sub !== dir && !visited.has(sub)) {
        visited.add(sub);
        pending.push(sub);
      }
    });
    if (batch.length > 0) {
      ready.push(batch);
      buffered += batch.length;
    }
  };

  const launch = () => {
    while (!failure && running < ctx.jobs && pending.length > 0 && buffered < HIGH_WATER) {
      const dir = pending.pop()!;
      running++;
      listOne(dir).catch((err) => {
        failure ??= { err };
      }).finally(() => {
        running--;
        launch();
        wake?.();
        wake = null;
      });
    }
  };

  try {
    launch();
    for (;;) {
      if (failure) throw failure.err;
      const batch = ready.shift();
      if (batch) {
        buffered -= batch.length;
        launch();
        yield batch;
        continue;
      }
      if (running === 0 && pending.length === 0) {
        if (!skipped) ctx.onComplete();
        return;
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stop.abort();
  }
}
