/**
 * The deletions of `clean`: in bulk requests where the backend has them, else one by one, and
 * counted as the target holds them afterwards, also when an interrupt cuts requests in flight.
 * Also the unfinished uploads (S3 multipart) that clean aborts.
 */
import {
  type Backend,
  BackendError,
  describeError,
  type Entry,
  isAbortError,
  type Leftover,
  MAX_BULK_DELETE,
  parentOf,
} from "../backends/backend.ts";
import type { Limiter } from "../sync/limiter.ts";
import type { CommandContext } from "./command.ts";

/** How long the check of a deletion cut by an interrupt may take (is the file gone?), in ms. */
const CUT_CHECK_MS = 400;

/** What the deletions did. */
export interface DeleteTally {
  deleted: number;
  /** Bytes of the files deleted. */
  deletedBytes: number;
  /** The directories of the files deleted (where empty ones may be left). */
  dirs: Set<string>;
  failed: number;
  /** Cut by the interrupt after the target had the request, and still there when checked. */
  unknown: number;
}

/**
 * `groups` (e.g. archives, then the rest) cut into batches of sorted paths, group by group (one
 * group in memory at a time).
 */
export function* batchesOf(groups: readonly Iterable<Entry>[], size: number): Generator<Entry[]> {
  for (const group of groups) {
    // Sorted, a batch spans a short key range: checking it after an interrupt is one listing.
    const sorted = [...group].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    for (let i = 0; i < sorted.length; i += size) yield sorted.slice(i, i + size);
  }
}

/**
 * Deletes `groups` of files, one group after the other in the order given, through the limiter:
 * in bulk requests where the backend has them, else one by one. Stops starting deletions at the
 * first Ctrl-C, and at the first target-wide failure (reported once); every other failure is one
 * ERROR line. After the second Ctrl-C, what became of the requests it cut is checked briefly.
 */
export async function deleteAll(
  target: Backend,
  groups: readonly Iterable<Entry>[],
  ctx: CommandContext,
  limiter: Limiter,
  progress: (failed: boolean) => void,
): Promise<DeleteTally> {
  const { out } = ctx;
  const tally: DeleteTally = {
    deleted: 0,
    deletedBytes: 0,
    dirs: new Set(),
    failed: 0,
    unknown: 0,
  };
  const stop = new AbortController();
  ctx.stop.addEventListener("abort", () => stop.abort(), { once: true });
  const failed = (a: Entry, err: unknown) => {
    if (isAbortError(err) || ctx.abort.aborted) return;
    tally.failed++;
    progress(true);
    if (err instanceof BackendError && err.scope === "target") {
      if (!stop.signal.aborted) out.error(`${err.message}; stopping the clean`);
      stop.abort();
    } else out.error(`cannot delete ${a.path}: ${describeError(err)}`);
  };
  const deleted = (a: Entry) => {
    tally.deleted++;
    tally.deletedBytes += a.size;
    tally.dirs.add(parentOf(a.path));
    progress(false);
  };
  const signal = ctx.abort;
  if (target.deleteMany) {
    await limiter.forEach(batchesOf(groups, MAX_BULK_DELETE), async (batch) => {
      for (const a of batch) out.detail(`[DELETE] ${a.path}`);
      try {
        const outcomes = await target.deleteMany!(batch.map((a) => a.path), { signal });
        const byPath = new Map(outcomes.map((o) => [o.path, o]));
        for (const a of batch) {
          const outcome = byPath.get(a.path);
          if (outcome?.inDoubt) tally.unknown++;
          else if (outcome?.error) failed(a, outcome.error);
          else deleted(a);
        }
      } catch (err) {
        for (const a of batch) failed(a, err);
      }
    }, stop.signal);
  } else {
    const all = function* () {
      for (const group of groups) yield* group;
    };
    await limiter.forEach(all(), async (a) => {
      out.detail(`[DELETE] ${a.path}`);
      try {
        await target.delete(a.path, { signal });
        deleted(a);
      } catch (err) {
        if (!signal.aborted) return failed(a, err);
        // Cut: the target may have deleted it all the same.
        const gone = await target.stat(a.path, { signal: AbortSignal.timeout(CUT_CHECK_MS) })
          .then((entry) => entry === null, () => undefined);
        if (gone) deleted(a);
        else if (gone === undefined) tally.unknown++;
      }
    }, stop.signal);
  }
  return tally;
}

/** What became of the unfinished uploads clean found. */
export interface UploadsTally {
  aborted: number;
  failed: number;
}

/** The unfinished uploads started at least `maxAgeS` seconds before `now` (none if unsupported). */
export async function staleUploads(
  target: Backend,
  maxAgeS: number,
  now: number,
  signal: AbortSignal,
): Promise<Leftover[]> {
  if (!target.unfinishedUploads) return [];
  const uploads = await target.unfinishedUploads({ signal });
  return uploads.filter((u) => Math.floor((now - u.started) / 1000) >= maxAgeS)
    .sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** Aborts `uploads` through the limiter; each failure is one ERROR line. */
export async function abortUploads(
  target: Backend,
  uploads: readonly Leftover[],
  ctx: CommandContext,
  limiter: Limiter,
): Promise<UploadsTally> {
  const tally: UploadsTally = { aborted: 0, failed: 0 };
  await limiter.forEach(uploads, async (u) => {
    ctx.out.detail(`[ABORT] ${u.path}`);
    try {
      await target.removeLeftover!(u, { signal: ctx.abort });
      tally.aborted++;
    } catch (err) {
      if (isAbortError(err) || ctx.abort.aborted) return;
      tally.failed++;
      ctx.out.error(`cannot abort the unfinished upload of ${u.path}: ${describeError(err)}`);
    }
  }, ctx.stop);
  return tally;
}
