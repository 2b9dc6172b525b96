/**
 * The upload engine shared by `upload` and `watch`: one listing of the target (into a
 * RemoteIndex), a walk of the local cache that feeds the upload queue directory by directory as
 * it goes (siginfo before archives), then a drain of the queue. Artifacts the target has are
 * refreshed (marked used) where the build used them since their last use on the target: see
 * `UploadSettings.refreshAfterMs`.
 */
import type { Backend, Entry, Leftover } from "../backends/backend.ts";
import { letOthersRun } from "../backends/event_loop.ts";
import { type Artifact, artifactKind, parseArtifactName } from "../cache/artifact.ts";
import type { ArtifactFilter } from "../cache/filter.ts";
import { classify } from "../cache/listing.ts";
import type { LocalCache } from "../cache/local_cache.ts";
import { PathSet } from "../cache/path_set.ts";
import type { Limiter } from "./limiter.ts";
import { RemoteIndex } from "./remote_index.ts";
import { type QueueTotals, type UploadObserver, UploadQueue } from "./upload_queue.ts";

/** What a walk of the local cache found. */
export interface UploadPlan {
  /** Artifacts the target lacks, and their bytes. */
  missing: number;
  missingBytes: number;
  /** Artifacts the target has. */
  present: number;
  /** Of those, the ones to refresh (the source used them since their last use there). */
  refresh: number;
  /** Files that are not sstate artifacts (never uploaded). */
  otherFiles: number;
}

/** What an upload reports besides the queue's events. */
export interface UploadEvents extends UploadObserver {
  /** An artifact the target has already. */
  present?(artifact: Artifact): void;
  /** An artifact a dry run would upload. */
  wouldUpload?(artifact: Artifact): void;
  /** An artifact a dry run would refresh. */
  wouldRefresh?(artifact: Artifact): void;
  /** The local walk is complete: the plan is known (uploads may be running already). */
  planned?(plan: UploadPlan): void;
  /** Part of a cache was skipped (unreadable directory); once per part. */
  warning?(message: string): void;
  /** Leftover temporary files of this host's killed uploads were removed from the target. */
  removedOrphans?(count: number): void;
}

/** The local cache an upload reads (a watch's SourceTree records what its walks read). */
export type UploadSource = Pick<LocalCache, "root" | "walk" | "sizeOf" | "statOf">;

/** Everything one upload run needs. */
export interface UploadSettings {
  source: UploadSource;
  target: Backend;
  /** False when the target does not exist yet (and has nothing to list). */
  targetExists: boolean;
  /**
   * Settles once the target may be listed (created first if it was missing, say): the source
   * is walked meanwhile. A rejection fails the reconciliation.
   */
  targetReady?: Promise<void>;
  filter?: ArtifactFilter;
  limiter: Limiter;
  dryRun?: boolean;
  /**
   * Refresh (mark used on the target) each artifact the target has whose local modification
   * time (bitbake touches what it uses) is later than its last use on the target by more than
   * this many ms: at most one refresh per artifact in such a window. 0 or absent: none.
   */
  refreshAfterMs?: number;
  /** Aborted: start no further put (the first Ctrl-C). */
  stop?: AbortSignal;
  /** Aborted: cut the puts in flight too (the second Ctrl-C). */
  abort?: AbortSignal;
  /** Artifacts held while the target is listed (default HELD_MAX; small in tests). */
  heldMax?: number;
}

/** The outcome of an upload run. */
export interface UploadSummary {
  plan: UploadPlan;
  totals: QueueTotals;
  /** Parts of the source or target skipped with a warning. */
  warnings: number;
  /** The queue stopped at this target-wide failure. */
  targetError?: Error;
}

/** How long the walk may keep the event loop before letting copies report back, in ms. */
const WALK_SLICE_MS = 2;
/**
 * How far the walk may run ahead of the uploads, in artifacts: past the high mark it waits
 * until the queue is down to the low mark, so memory does not grow with the size of the tree.
 */
const HIGH_WATER = 4096;
const LOW_WATER = 2048;
/**
 * How many artifacts walked before the target's listing is complete are held (compactly); the
 * directories walked beyond are only counted, and read again once it is.
 */
const HELD_MAX = 1 << 16;

/**
 * The artifacts among one directory's files that pass `filter`, siginfo and signatures first
 * (the order the queue needs), and how many files were not artifacts at all.
 */
export function artifactsOf(
  files: readonly Entry[],
  filter?: ArtifactFilter,
): { artifacts: Artifact[]; otherFiles: number } {
  const { artifacts, others } = classify(files, filter);
  const archive = (a: Artifact) => artifactKind(a.suffix) === "archive";
  return {
    artifacts: artifacts.filter((a) => !archive(a)).concat(artifacts.filter(archive)),
    otherFiles: others.length,
  };
}

/**
 * One upload session: what the target holds (a RemoteIndex) and the queue that fills it.
 * `upload` reconciles once and drains; `watch` reconciles, then keeps offering what appears.
 */
export class UploadSession {
  readonly index: RemoteIndex;
  readonly queue: UploadQueue;
  /** Warnings so far (parts of the source or target skipped). */
  warnings = 0;
  #plan: UploadPlan = { missing: 0, missingBytes: 0, present: 0, refresh: 0, otherFiles: 0 };
  #unchecked = 0;
  #prepared = false;
  /** When the walk last let others run. */
  #slice = performance.now();
  #walked = Promise.withResolvers<void>();

  /** `index`: what the target is already known to hold (e.g. loaded from a file). */
  constructor(
    readonly settings: UploadSettings,
    readonly events: UploadEvents = {},
    index = new RemoteIndex(),
  ) {
    this.index = index;
    this.queue = new UploadQueue({
      sourceRoot: settings.source.root,
      target: settings.target,
      limiter: settings.limiter,
      index,
      stop: settings.stop,
      abort: settings.abort,
      observer: events,
    });
  }

  /** Settles once `reconcile` has walked the whole source (or stopped walking it). */
  get walked(): Promise<void> {
    return this.#walked.promise;
  }

  /** Whether artifacts the target has are refreshed where the source used them. */
  get refreshing(): boolean {
    const { refreshAfterMs, target } = this.settings;
    return (refreshAfterMs ?? 0) > 0 && !!target.markUsed && this.queue.refreshing;
  }

  /** Artifacts of the source walked but not compared with the target yet (not listed yet). */
  get unchecked(): number {
    return this.#unchecked;
  }

  #warn = (message: string) => {
    this.warnings++;
    this.events.warning?.(message);
  };

  /**
   * Lists the target into the index and removes the temporary files that this host's killed
   * uploads left there (where the target's puts write any).
   */
  async #indexTarget(): Promise<void> {
    const { settings, events } = this;
    const { target } = settings;
    await settings.targetReady;
    if (!settings.targetExists) return this.index.listed(); // it holds nothing
    const orphans: Leftover[] = [];
    const onBatch = target.tempFiles &&
      ((batch: Entry[]) => orphans.push(...target.tempFiles!(batch).filter((t) => t.orphaned)));
    // The source is walked meanwhile, between the listing's batches: a listing thread would
    // take more memory (some 25 MB) than it saves time.
    const options = { signal: settings.abort, onWarning: this.#warn, lean: true };
    await this.index.fill(target, options, onBatch, this.refreshing);
    if (orphans.length > 0 && !settings.dryRun) {
      let removed = 0;
      await settings.limiter.forEach(orphans, async (orphan) => {
        await target.removeLeftover!(orphan, { signal: settings.abort });
        removed++;
      });
      events.removedOrphans?.(removed);
    }
  }

  /**
   * Offers artifacts of the source: those the target lacks (and the queue does not have yet)
   * are measured and enqueued, or, in a dry run, reported. Returns how many were new.
   */
  offer(artifacts: readonly Artifact[]): number {
    const { settings, events, index, queue } = this;
    const plan = this.#plan;
    let added = 0;
    for (const a of artifacts) {
      if (index.has(a.path)) {
        plan.present++;
        if (this.#refreshDue(a)) {
          plan.refresh++;
          if (settings.dryRun) events.wouldRefresh?.(a);
          else queue.enqueue(a, true);
        } else events.present?.(a);
        continue;
      }
      if (queue.has(a.path)) continue;
      const size = settings.source.sizeOf(a.path);
      if (size === null) continue; // vanished since its directory was read
      a.size = size;
      plan.missing++;
      plan.missingBytes += size;
      added++;
      if (settings.dryRun) events.wouldUpload?.(a);
      else {
        // The copy threads start with the first file to copy: a run with none needs none.
        if (!this.#prepared) settings.target.prepare?.();
        this.#prepared = true;
        queue.enqueue(a);
      }
    }
    return added;
  }

  /**
   * Whether `a`, which the target has, is to be refreshed: the source's copy was modified (used)
   * later than the refresh window after its last use on the target (known from the listing).
   * Sets `a.size` for the upload that follows if the target lost it meanwhile.
   */
  #refreshDue(a: Artifact): boolean {
    if (!this.refreshing || this.queue.has(a.path)) return false;
    const last = this.index.lastUse(a.path);
    if (last === undefined) return false;
    const local = a.mtime > 0
      ? { mtime: a.mtime, size: a.size }
      : this.settings.source.statOf(a.path);
    if (local === null || local.mtime - last <= this.settings.refreshAfterMs!) return false;
    a.size = local.size;
    return true;
  }

  /**
   * Refreshes those of `artifacts` (walked from the source again) that the target has and the
   * build used since (see `refreshAfterMs`), e.g. at the end of a build a watch wrapped.
   */
  refreshUsed(artifacts: readonly Artifact[]): void {
    for (const a of artifacts) {
      if (this.index.has(a.path) && this.#refreshDue(a)) this.queue.enqueue(a, true);
    }
  }

  /**
   * Lists the target while walking the source, and from the moment the listing is complete
   * enqueues each directory's missing artifacts as soon as it is read, so copies run during
   * the walk. Resolves with the plan once the walk is done (the queue is still working).
   */
  async reconcile(): Promise<UploadPlan> {
    const { source, filter, stop } = this.settings;
    let indexReady = false;
    const indexed = this.#indexTarget().then(() => indexReady = true);
    indexed.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile
    // Artifacts walked before the listing is complete wait in a compact set (in walk order),
    // up to a bound; beyond it their directories are read again once it is complete.
    let held = new PathSet(this.index.interner);
    const heldMax = this.settings.heldMax ?? HELD_MAX;
    const unread: string[] = [];
    // Where artifacts are refreshed, the walk's times spare a stat of each artifact present.
    const metadata = this.refreshing;
    const walk = source.walk({ metadata, onWarning: this.#warn });
    try {
      for (const { dir, files } of walk) {
        if (stop?.aborted) break;
        const { artifacts, otherFiles } = artifactsOf(files, filter);
        this.#plan.otherFiles += otherFiles;
        if (indexReady) {
          if (held.size > 0) {
            await this.#offerHeld(held);
            held = new PathSet(this.index.interner);
          }
          this.offer(artifacts);
        } else if (held.size + artifacts.length <= heldMax || held.size === 0) {
          for (const a of artifacts) held.add(a.path);
          this.#unchecked += artifacts.length;
        } else {
          if (artifacts.length > 0) unread.push(dir);
          this.#unchecked += artifacts.length;
        }
        await this.#pace();
      }
    } finally {
      this.#walked.resolve();
    }
    await indexed;
    await this.#offerHeld(held);
    for (const dir of unread) {
      if (stop?.aborted) break;
      // That directory alone: its subdirectories were walked (and offered) in their turn.
      const again = source.walk({
        from: dir,
        metadata,
        skip: (d) => d === dir ? undefined : [],
      });
      for (const { files } of again) {
        const { artifacts } = artifactsOf(files, filter);
        this.#unchecked = Math.max(0, this.#unchecked - artifacts.length);
        this.offer(artifacts);
      }
      await this.#pace();
    }
    this.#unchecked = 0;
    this.events.planned?.({ ...this.#plan });
    return { ...this.#plan };
  }

  /**
   * Lets copies report back now and then (every WALK_SLICE_MS), and waits while the queue is
   * above its high mark, so that memory does not grow with the size of the tree.
   */
  async #pace(): Promise<void> {
    if (this.queue.pending > HIGH_WATER) {
      await this.queue.below(LOW_WATER);
      this.#slice = performance.now();
    } else if (performance.now() - this.#slice > WALK_SLICE_MS) {
      await letOthersRun();
      this.#slice = performance.now();
    }
  }

  /**
   * Offers the artifacts walked before the listing was complete, in walk order. Only those the
   * target lacks become objects, unless each present one is to be told; the queue is kept
   * below its high mark meanwhile.
   */
  async #offerHeld(held: PathSet): Promise<void> {
    if (held.size === 0) return;
    const paths = this.events.present || this.refreshing ? held : this.index.missing(held);
    let batch: Artifact[] = [];
    let missing = 0;
    for (const path of paths) {
      batch.push({ path, size: 0, mtime: 0, ...parseArtifactName(path)! });
      missing++;
      if (batch.length < 1024) continue;
      this.offer(batch);
      batch = [];
      if (this.queue.pending > HIGH_WATER) await this.queue.below(LOW_WATER);
    }
    this.offer(batch);
    this.#unchecked = Math.max(0, this.#unchecked - held.size);
    if (!this.events.present && !this.refreshing) this.#plan.present += held.size - missing;
  }
}

/** Uploads every local artifact (passing the filter) that the target lacks. */
export async function runUpload(
  settings: UploadSettings,
  events: UploadEvents = {},
): Promise<UploadSummary> {
  const session = new UploadSession(settings, events);
  const plan = await session.reconcile();
  const totals = await session.queue.drain();
  return { plan, totals, warnings: session.warnings, targetError: session.queue.targetError };
}
