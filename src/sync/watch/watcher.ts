/**
 * The incremental upload daemon behind `watch`, on the upload engine of `upload`: one
 * UploadSession reconciles the source with the target (one listing, upload what is missing),
 * then every artifact that appears in the source is settled and offered to the same session.
 * Outages make puts wait (the gate), failed files are offered again later (the retry book), and a
 * flush uploads everything pending before the end.
 */
import type { Backend, BackendError } from "../../backends/backend.ts";
import type { Artifact } from "../../cache/artifact.ts";
import type { ArtifactFilter } from "../../cache/filter.ts";
import type { Limiter } from "../limiter.ts";
import type { RemoteIndex } from "../remote_index.ts";
import { artifactsOf, type UploadPlan, UploadSession } from "../upload.ts";
import { IndexSaver } from "./index_saver.ts";
import { gated, OutageGate } from "./outage.ts";
import { RetryBook } from "./retry_book.ts";
import { Settler } from "./settle.ts";
import { SourceWatcher } from "./source_watcher.ts";
import type { SourceTree } from "./source_tree.ts";
import { settledOrAborted, settledOrAfter } from "./waits.ts";

/** How long outage notices wait at most for the first walk of the source, in ms. */
const NOTICE_WAIT_MS = 5000;

/** Everything a watch needs. */
export interface WatchSettings {
  source: SourceTree;
  /** The target, opened (with the backend's own retries). */
  target: Backend;
  filter?: ArtifactFilter;
  limiter: Limiter;
  /** How long a new file must stay unchanged before it is uploaded, in ms. */
  settleMs: number;
  /** Time between periodic rescans of the source, in ms. */
  rescanIntervalMs: number;
  /**
   * The index an earlier run saved (see `RemoteIndex.load`): it becomes this run's index, and
   * until this run's listing is done, artifacts it lists wait for the listing instead of being
   * uploaded at once.
   */
  previousIndex?: RemoteIndex;
  /** Where to save the index (after the listing, now and then, and at the end). */
  indexFile?: string;
  /** Aborted: cut everything at once (the second Ctrl-C). */
  abort?: AbortSignal;
  /** Refresh used artifacts the target has (see `UploadSettings.refreshAfterMs`). */
  refreshAfterMs?: number;
}

/** How often a long-running watch looks for artifacts the builds used (to refresh them). */
const REFRESH_PASS_MS = 60 * 60 * 1000;

/** What a watch reports. */
export interface WatchObserver {
  /** The first listing and walk are done: what was missing is on its way. */
  planned?(plan: UploadPlan): void;
  uploaded?(artifact: Artifact): void;
  /** The target had it already (another host was first). */
  existed?(artifact: Artifact): void;
  /** An artifact the target had was marked used there. */
  refreshed?(artifact: Artifact): void;
  /** An upload failed; it is tried again in `retryInMs` (null: no more tries, flushing). */
  failed?(artifact: Artifact, message: string, retryInMs: number | null): void;
  /** The target (or, given `proxy`, the proxy to it) is unreachable; `pending` files wait. */
  down?(message: string, pending: number, proxy?: BackendError["proxy"]): void;
  /** A probe of the target failed again, `downMs` into the outage. */
  stillDown?(message: string, downMs: number, pending: number, proxy?: BackendError["proxy"]): void;
  /** The target answers again after `downMs`. */
  up?(downMs: number, pending: number): void;
  /** Part of the source or target was skipped, or the index could not be saved. */
  warning?(message: string): void;
  /** Changes cannot be watched; rescans alone find new artifacts. */
  unwatched?(reason: string): void;
  removedOrphans?(count: number): void;
  /** Something counted changed (for a status display). */
  changed?(): void;
}

/** Counts for a status display and the summary. */
export interface WatchCounts {
  uploaded: number;
  uploadedBytes: number;
  /** Found on the target when put (another uploader was first). */
  existed: number;
  /** Artifacts the target had that were marked used. */
  refreshed: number;
  /** Artifacts not on the target yet: settling, queued, in flight, waiting for a retry. */
  pending: number;
  /** Artifacts whose last attempt failed. */
  failing: number;
  /** Since when the target has been unreachable, if it is. */
  downSince?: number;
}

/** How a flush ended. */
export interface FlushSummary extends WatchCounts {
  /** Artifacts of the source that are not on the target (failed, or the flush gave up). */
  notUploaded: number;
  /** The flush (or the whole watch) was cut short. */
  gaveUp: boolean;
}

/** A running watch. */
export class Watcher {
  readonly gate: OutageGate;
  readonly session: UploadSession;
  #sourceWatcher: SourceWatcher;
  #settler: Settler;
  #retries: RetryBook;
  /** Artifacts the previous index says the target has, waiting for this run's listing. */
  #deferred = new Map<string, Artifact>();
  /** This run's listing is done (the index holds no saved entries any more). */
  #listed = false;
  #reconciled?: Promise<UploadPlan>;
  #halt = new AbortController();
  #signal: AbortSignal;
  #flushing = false;
  /** While flushing: how long the target may stay unreachable before the flush gives up. */
  #patienceMs = Infinity;
  #patienceTimer?: ReturnType<typeof setTimeout>;
  #failedInFlush = new Set<string>();
  #finalFailures = 0;
  #saver: IndexSaver;
  #warned = new Set<string>();
  #targetReady = Promise.withResolvers<void>();
  #refused = Promise.withResolvers<BackendError>();
  #refusal?: BackendError;
  /** Outage notices wait for this: the first walk of the source (see `#tell`). */
  #notices?: Promise<void>;
  #refreshTimer?: ReturnType<typeof setInterval>;

  constructor(readonly settings: WatchSettings, readonly observer: WatchObserver = {}) {
    const { source, filter, limiter } = settings;
    // What the saved index lists waits for this run's listing to confirm it.
    settings.previousIndex?.unconfirm();
    this.#signal = settings.abort
      ? AbortSignal.any([settings.abort, this.#halt.signal])
      : this.#halt.signal;
    this.gate = new OutageGate({
      refused: (err) => this.#refuse(err),
      down: (err) => {
        this.#armPatience();
        this.#tell(() => observer.down?.(err.message, this.counts.pending, err.proxy));
      },
      stillDown: (err, ms) => {
        this.#tell(() => observer.stillDown?.(err.message, ms, this.counts.pending, err.proxy));
      },
      up: (ms) => {
        clearTimeout(this.#patienceTimer);
        this.#tell(() => observer.up?.(ms, this.counts.pending));
      },
    });
    this.session = new UploadSession({
      source,
      target: gated(settings.target, this.gate),
      targetExists: true, // created first if missing (see #reconcile)
      targetReady: this.#targetReady.promise,
      filter,
      limiter,
      stop: this.#signal,
      abort: this.#signal,
      refreshAfterMs: settings.refreshAfterMs,
    }, {
      refreshed: (a) => {
        observer.refreshed?.(a);
        observer.changed?.();
      },
      refreshUnsupported: (err) => this.#warn(`${err.message}; uploading without refreshes`),
      stored: (a) => {
        this.#retries.forget(a.path);
        this.#saver.schedule();
        observer.uploaded?.(a);
        observer.changed?.();
      },
      existed: (a) => {
        this.#retries.forget(a.path);
        observer.existed?.(a);
        observer.changed?.();
      },
      failed: (a, message) => this.#failed(a, message),
      // Not expected: outages are gated, and a refusal stops the watch (told once, as such).
      targetFailed: (err) => this.#refusal || this.#warn(err.message),
      warning: (message) => this.#warn(message),
      removedOrphans: (n) => observer.removedOrphans?.(n),
    }, settings.previousIndex);
    this.#saver = new IndexSaver(this.session.index, settings.indexFile, (m) => this.#warn(m));
    this.#settler = new Settler({
      root: source.root,
      settleMs: settings.settleMs,
      isKnown: (path) => this.#isKnown(path),
      ready: (artifacts) => this.#offer(artifacts),
    });
    this.#retries = new RetryBook((artifacts) => this.#retry(artifacts));
    this.#sourceWatcher = new SourceWatcher(
      { source, filter, rescanIntervalMs: settings.rescanIntervalMs },
      {
        found: (artifacts) => this.#settler.add(artifacts),
        warning: (message) => this.#warn(message),
        unwatched: (reason) => observer.unwatched?.(reason),
      },
    );
  }

  /** Whether file system events arrive (false: rescans only). */
  get watching(): boolean {
    return this.#sourceWatcher.watching;
  }

  get counts(): WatchCounts {
    const { totals } = this.session.queue;
    const settling = this.#settler.size + this.#deferred.size + this.session.unchecked;
    return {
      uploaded: totals.stored,
      uploadedBytes: totals.storedBytes,
      existed: totals.existed,
      refreshed: totals.refreshed,
      pending: settling + this.session.queue.pending + this.#retries.waiting,
      failing: this.#retries.size,
      downSince: this.gate.downSince,
    };
  }

  /**
   * Starts watching the source (from its return on, no change is missed), then reconciles in the
   * background: creates the target if needed, lists it, uploads what is missing. `reconciled`
   * settles when that is done.
   */
  start(): void {
    this.#sourceWatcher.start();
    this.#reconciled = this.#reconcile();
    this.#reconciled.catch(() => {}); // awaited by whoever asks; must not go unhandled
    this.#refreshTimer = setInterval(() => this.#refreshUsed(), REFRESH_PASS_MS);
    Deno.unrefTimer(this.#refreshTimer);
  }

  /** Walks the source for artifacts the builds used since the target's last use: refreshes them. */
  #refreshUsed(): void {
    if (!this.session.refreshing || this.#signal.aborted) return;
    const onWarning = (message: string) => this.#warn(message);
    for (const { files } of this.settings.source.walk({ metadata: false, onWarning })) {
      this.session.refreshUsed(artifactsOf(files, this.settings.filter).artifacts);
    }
  }

  /** The first listing and walk: resolves with the plan, rejects if they failed. */
  get reconciled(): Promise<UploadPlan> {
    if (!this.#reconciled) throw new Error("the watch was not started");
    return this.#reconciled;
  }

  /**
   * Resolves with the error once the target refuses this client (wrong credentials, no
   * permission): from then on nothing is uploaded (calls in flight are cut), and a flush returns
   * at once.
   */
  get refused(): Promise<BackendError> {
    return this.#refused.promise;
  }

  /** Why the target refused this client, once it did. */
  get refusal(): BackendError | undefined {
    return this.#refusal;
  }

  /**
   * Tells the observer about an outage, in order, once the first walk of the source is done (or
   * has taken NOTICE_WAIT_MS): an outage met at start then counts every file that waits, not
   * only those walked so far.
   */
  #tell(notice: () => void): void {
    this.#notices ??= settledOrAfter(this.session.walked, NOTICE_WAIT_MS);
    this.#notices = this.#notices.then(() => {
      notice();
      this.observer.changed?.();
    });
  }

  #refuse(err: BackendError): void {
    if (this.#refusal) return;
    this.#refusal = err;
    this.#halt.abort(err);
    this.#refused.resolve(err);
  }

  async #reconcile(): Promise<UploadPlan> {
    const target = this.session.settings.target;
    const options = { signal: this.#signal };
    // The source is walked meanwhile, so that an unreachable target is told how much waits.
    const ready = this.#targetReady;
    (async () => {
      if (!await target.exists(options)) await target.create(options);
    })().then(ready.resolve, ready.reject);
    const plan = await this.session.reconcile();
    this.#saver.listed();
    this.#listed = true;
    const deferred = [...this.#deferred.values()];
    this.#deferred.clear();
    this.#offer(deferred);
    this.observer.planned?.(plan);
    this.observer.changed?.();
    await this.session.queue.drain(); // what was missing is stored: the index is worth saving
    await this.#saver.save();
    return plan;
  }

  #isKnown(path: string): boolean {
    const { index, queue } = this.session;
    return index.has(path) || queue.has(path) || this.#deferred.has(path);
  }

  /** Settled artifacts go to the queue, except those to check against the listing first. */
  #offer(artifacts: Artifact[]): void {
    const { index } = this.session;
    const saved = (a: Artifact) => !this.#listed && index.saved(a.path);
    const now = this.#listed ? artifacts : artifacts.filter((a) => !saved(a));
    if (!this.#listed) { for (const a of artifacts) if (saved(a)) this.#deferred.set(a.path, a); }
    this.session.offer(now);
    this.observer.changed?.();
  }

  #failed(artifact: Artifact, message: string): void {
    const { path } = artifact;
    if (this.#flushing) {
      if (this.#failedInFlush.has(path) || this.#signal.aborted) {
        this.#retries.forget(path);
        this.#finalFailures++;
        this.observer.failed?.(artifact, message, null);
        this.observer.changed?.();
        return;
      }
      this.#failedInFlush.add(path);
    }
    const delay = this.#flushing ? 0 : this.#retries.failed(artifact);
    this.observer.failed?.(artifact, message, delay);
    this.observer.changed?.();
    if (this.#flushing) this.#settler.add([artifact]);
  }

  /** Artifacts whose retry is due: settled again (they may still be changing), then offered. */
  #retry(artifacts: Artifact[]): void {
    const fresh = artifacts.filter((a) => {
      const gone = this.session.index.has(a.path) || this.settings.source.sizeOf(a.path) === null;
      if (gone) this.#retries.forget(a.path);
      return !gone;
    });
    this.#settler.add(fresh);
  }

  /** While flushing, gives up once the target has been unreachable for the patience. */
  #armPatience(): void {
    const since = this.gate.downSince;
    if (!this.#flushing || since === undefined || this.#patienceMs === Infinity) return;
    clearTimeout(this.#patienceTimer);
    this.#patienceTimer = setTimeout(
      () => this.#halt.abort(new DOMException("the target stayed unreachable", "AbortError")),
      Math.max(0, since + this.#patienceMs - Date.now()),
    );
  }

  /**
   * Uploads everything pending: rescans the source once more (catching anything no event told
   * of), waits for the listing, retries failed artifacts once, waits for settling files and for
   * the queue. It gives up when `giveUp` aborts or the target stays unreachable for
   * `outagePatienceMs`: uploads in flight are cut then (nothing is left half-written).
   */
  async flush(
    options: { giveUp?: AbortSignal; outagePatienceMs?: number } = {},
  ): Promise<FlushSummary> {
    const { giveUp } = options;
    this.#flushing = true;
    this.#patienceMs = options.outagePatienceMs ?? Infinity;
    this.#armPatience();
    const onGiveUp = () => this.#halt.abort(giveUp!.reason);
    if (giveUp?.aborted) onGiveUp();
    else giveUp?.addEventListener("abort", onGiveUp, { once: true });
    try {
      this.#sourceWatcher.close();
      await this.#sourceWatcher.rescanNow();
      await settledOrAborted(this.reconciled, this.#signal);
      clearInterval(this.#refreshTimer);
      this.#refreshUsed(); // what the build used while watched
      this.#retries.releaseAll();
      const { queue } = this.session;
      while (!this.#signal.aborted) {
        await settledOrAborted(this.#settler.idle(), this.#signal);
        await queue.drain();
        if (this.#settler.size === 0 && queue.pending === 0) break;
      }
      await queue.drain();
    } finally {
      giveUp?.removeEventListener("abort", onGiveUp);
      clearTimeout(this.#patienceTimer);
    }
    const counts = this.counts;
    const { notStarted, unknown } = this.session.queue.totals;
    const notUploaded = notStarted + unknown + this.#finalFailures + this.#settler.size +
      this.#deferred.size + this.#retries.waiting + this.session.unchecked;
    return { ...counts, notUploaded, gaveUp: this.#signal.aborted };
  }

  /** Reports a warning once (rescans meet an unreadable directory again and again). */
  #warn(message: string): void {
    if (this.#warned.has(message)) return;
    this.#warned.add(message);
    this.observer.warning?.(message);
  }

  /** Stops everything, saves the index (if the listing was done) and closes the backends. */
  async close(): Promise<void> {
    clearInterval(this.#refreshTimer);
    this.#sourceWatcher.close();
    this.#settler.close();
    this.#retries.close();
    this.#saver.close();
    this.#halt.abort(new DOMException("watch closed", "AbortError"));
    await this.session.queue.drain();
    await this.#saver.save();
    await this.session.settings.target.close();
    await this.settings.source.close();
  }
}
