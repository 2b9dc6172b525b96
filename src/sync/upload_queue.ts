/**
 * The upload queue shared by `upload` and `watch`: puts artifacts create-only, through the
 * process's limiter, and keeps the one ordering rule of a cache: an archive is stored only after
 * its own siginfo (and detached signature) are, and not at all if one of them failed. It also
 * refreshes artifacts the target has (marks them used), through the same limiter; a refresh
 * that finds the file gone uploads it.
 */
import {
  BackendError,
  describeError,
  isAbortError,
  isUnchanged,
  isUnsupported,
} from "../backends/backend.ts";
import type { Backend, Entry } from "../backends/backend.ts";
import { archivePathOf, type Artifact, artifactKind } from "../cache/artifact.ts";
import type { Limiter } from "./limiter.ts";
import type { RemoteIndex } from "./remote_index.ts";

/** What the queue reports as it goes. */
export interface UploadObserver {
  /** A put starts. */
  started?(artifact: Artifact): void;
  /** The file was stored. */
  stored?(artifact: Artifact): void;
  /** The target had the file already (another uploader was first). */
  existed?(artifact: Artifact): void;
  /** The file failed; `message` says why in one line. */
  failed?(artifact: Artifact, message: string): void;
  /** The target as a whole failed (no space, bad credentials): the queue stopped. */
  targetFailed?(error: BackendError): void;
  /** A refresh (marking a file the target has as used) starts. */
  refreshing?(artifact: Artifact): void;
  /** The target recorded the use. */
  refreshed?(artifact: Artifact): void;
  /** The target does not record uses: told once, and no refresh is tried after it. */
  refreshUnsupported?(error: BackendError): void;
}

/** Where a queue puts, how, and whom it tells. */
export interface QueueSettings {
  /** Local directory the artifacts' paths are relative to. */
  sourceRoot: string;
  target: Backend;
  limiter: Limiter;
  /** What the target holds; every stored file is added. */
  index: RemoteIndex;
  /** Aborted: start no further put (the first Ctrl-C). */
  stop?: AbortSignal;
  /** Aborted: cut the puts in flight too (the second Ctrl-C). */
  abort?: AbortSignal;
  observer?: UploadObserver;
}

/** Counts of what a queue did. */
export interface QueueTotals {
  stored: number;
  storedBytes: number;
  existed: number;
  failed: number;
  /** Not uploaded because the run was stopped: never started, or cut and not stored. */
  notStarted: number;
  /** Cut while in flight, and whether the target stored them could not be told in time. */
  unknown: number;
  /** Files the target has that were marked used. */
  refreshed: number;
}

/** How long the check of a put cut by an abort may take (did the target store it?), in ms. */
export const CUT_CHECK_MS = 400;

/** Per archive: its siginfo/signature puts still running, and whether one failed. */
interface Group {
  metadataPending: number;
  metadataFailed: boolean;
  waiting: Item[];
}

/** An artifact to put, or to refresh (`refresh`: the target has it). */
interface Item {
  artifact: Artifact;
  refresh: boolean;
  done?: (ok: boolean) => void;
}

/** Puts artifacts in the background; `drain` waits for all of them. */
export class UploadQueue {
  readonly totals: QueueTotals = {
    stored: 0,
    storedBytes: 0,
    existed: 0,
    failed: 0,
    notStarted: 0,
    unknown: 0,
    refreshed: 0,
  };
  #groups = new Map<string, Group>();
  /** Paths enqueued and not finished: never put twice (the index has those stored). */
  #taken = new Set<string>();
  #failedGroups = new Set<string>();
  /** Ready to put, oldest first from `#head`; only `limiter.max` are handed to the limiter. */
  #ready: Item[] = [];
  #head = 0;
  /** Puts handed to the limiter and not finished. */
  #active = 0;
  /** Waiting for `#active` to drop to 0. */
  #idleWaiters: (() => void)[] = [];
  /** Waiting for `pending` to drop to a level: [level, wake]. */
  #lowWaiters: [number, () => void][] = [];
  /** Archives held back until their siginfo is stored. */
  #held = 0;
  #stop = new AbortController();
  #targetError?: BackendError;
  /** The target refused to record a use: no more refreshes. */
  #refreshRefused = false;

  constructor(readonly settings: QueueSettings) {
    const { stop } = settings;
    if (stop) {
      if (stop.aborted) this.#stop.abort(stop.reason);
      else stop.addEventListener("abort", () => this.#stop.abort(stop.reason), { once: true });
    }
  }

  /** The first target-wide failure, if the queue stopped because of one. */
  get targetError(): BackendError | undefined {
    return this.#targetError;
  }

  /** Artifacts enqueued and not finished yet. */
  get pending(): number {
    return this.#active + (this.#ready.length - this.#head) + this.#held;
  }

  /** Whether `path` is enqueued and not finished (once stored, the index has it). */
  has(path: string): boolean {
    return this.#taken.has(path);
  }

  /** Whether refreshes are still tried (false once the target refused to record a use). */
  get refreshing(): boolean {
    return !this.#refreshRefused;
  }

  /**
   * Queues an artifact, unless it is queued or stored already; an archive waits for its siginfo
   * and signature enqueued before it. With `refresh`, the target has the artifact and it is
   * marked used instead (uploaded if the target turns out not to have it after all).
   */
  enqueue(artifact: Artifact, refresh = false): void {
    if (this.#taken.has(artifact.path)) return;
    this.#taken.add(artifact.path);
    const key = archivePathOf(artifact);
    if (artifactKind(artifact.suffix) === "archive") {
      const group = this.#groups.get(key);
      if (group) {
        group.waiting.push({ artifact, refresh });
        this.#held++;
      } else if (this.#failedGroups.has(key)) this.#refuse(artifact);
      else this.#start({ artifact, refresh });
      return;
    }
    const group = this.#groups.get(key) ??
      { metadataPending: 0, metadataFailed: false, waiting: [] };
    this.#groups.set(key, group);
    group.metadataPending++;
    this.#start({
      artifact,
      refresh,
      done: (ok) => {
        group.metadataFailed ||= !ok;
        if (--group.metadataPending > 0) return;
        this.#groups.delete(key);
        if (group.metadataFailed) this.#failedGroups.add(key);
        else this.#failedGroups.delete(key); // offered again (watch) and stored this time
        this.#held -= group.waiting.length;
        for (const archive of group.waiting) {
          if (group.metadataFailed) this.#refuse(archive.artifact);
          else this.#start(archive);
        }
      },
    });
  }

  /** Resolves once at most `level` artifacts are pending (for callers that feed the queue). */
  below(level: number): Promise<void> {
    if (this.pending <= level) return Promise.resolve();
    return new Promise((resolve) => this.#lowWaiters.push([level, resolve]));
  }

  /** Resolves once every artifact enqueued so far (and meanwhile) is done or was skipped. */
  async drain(): Promise<QueueTotals> {
    while (this.#active > 0) {
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    }
    return this.totals;
  }

  #refuse(archive: Artifact): void {
    this.#taken.delete(archive.path);
    if (this.#stop.signal.aborted) {
      this.totals.notStarted++;
      return;
    }
    this.totals.failed++;
    this.settings.observer?.failed?.(archive, "not uploaded: its siginfo or signature failed");
  }

  #start(item: Item): void {
    this.#ready.push(item);
    this.#pump();
  }

  /**
   * Hands ready artifacts to the limiter, at most its size at a time: a large upload keeps a
   * list of artifacts, not a pending call per file.
   */
  #pump(): void {
    const { limiter } = this.settings;
    while (this.#active < limiter.max && this.#head < this.#ready.length) {
      const item = this.#ready[this.#head++];
      this.#active++;
      this.#run(item);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#ready.length) {
      this.#ready = this.#ready.slice(this.#head);
      this.#head = 0;
    }
  }

  /** One put through the limiter, then the next ones (never rejects: `#put` reports failures). */
  async #run({ artifact, refresh, done }: Item): Promise<void> {
    try {
      const ok = await this.settings.limiter.run(async () => {
        const held = refresh ? await this.#refresh(artifact) : "gone";
        return held === "gone" ? await this.#put(artifact) : held;
      });
      done?.(ok);
    } finally {
      this.#active--;
      this.#pump();
      this.#wakeLowWaiters();
      if (this.#active === 0) { for (const wake of this.#idleWaiters.splice(0)) wake(); }
    }
  }

  #wakeLowWaiters(): void {
    if (this.#lowWaiters.length === 0) return;
    const pending = this.pending;
    this.#lowWaiters = this.#lowWaiters.filter(([level, wake]) => {
      if (pending > level) return true;
      wake();
      return false;
    });
  }

  /**
   * Counts a put cut by the abort. The target may have stored the file all the same (it had the
   * whole request when the put was cut): a stat within CUT_CHECK_MS tells, else it is unknown.
   */
  async #settleCut(a: Artifact): Promise<boolean> {
    const { target, index, observer } = this.settings;
    let entry: Entry | null | undefined;
    try {
      entry = await target.stat(a.path, { signal: AbortSignal.timeout(CUT_CHECK_MS) });
    } catch {
      entry = undefined;
    }
    if (entry === null) {
      this.totals.notStarted++;
      return false;
    }
    if (entry?.size !== a.size) {
      this.totals.unknown++;
      return false;
    }
    index.add(a.path);
    this.totals.stored++;
    this.totals.storedBytes += a.size;
    observer?.stored?.(a);
    return true;
  }

  /**
   * Marks an artifact the target has as used: true when done (or when the target does not
   * record uses: told once), false when it failed or the run stopped first, "gone" when the
   * target no longer has it (it is to be uploaded).
   */
  async #refresh(a: Artifact): Promise<boolean | "gone"> {
    const { target, index, observer, abort } = this.settings;
    if (this.#stop.signal.aborted) {
      this.#taken.delete(a.path);
      return false;
    }
    if (this.#refreshRefused || !target.markUsed) return true;
    observer?.refreshing?.(a);
    try {
      if (!await target.markUsed(a.path, { signal: abort })) {
        index.delete(a.path);
        return "gone";
      }
      index.used(a.path, Date.now());
      this.#taken.delete(a.path); // done: a later pass may refresh it again, after the window
      this.totals.refreshed++;
      observer?.refreshed?.(a);
      return true;
    } catch (err) {
      if (isUnsupported(err)) {
        if (!this.#refreshRefused) observer?.refreshUnsupported?.(err as BackendError);
        this.#refreshRefused = true;
        return true;
      }
      this.#taken.delete(a.path);
      // Cut: a refresh changes no content, so whether it happened matters little.
      if (isAbortError(err) || abort?.aborted) return false;
      return this.#failed(a, err);
    }
  }

  /** Counts a failed put or refresh and tells of it (a target-wide one stops the queue). */
  #failed(a: Artifact, err: unknown): false {
    this.totals.failed++;
    const { observer } = this.settings;
    if (err instanceof BackendError && err.scope === "target") {
      if (!this.#targetError) {
        this.#targetError = err;
        this.#stop.abort(err);
        observer?.targetFailed?.(err);
      }
      return false;
    }
    observer?.failed?.(a, describeError(err));
    return false;
  }

  /** One put; true when the target holds the file afterwards. */
  async #put(a: Artifact): Promise<boolean> {
    const { target, index, observer, sourceRoot, abort } = this.settings;
    if (this.#stop.signal.aborted) {
      this.#taken.delete(a.path);
      this.totals.notStarted++;
      return false;
    }
    observer?.started?.(a);
    try {
      const result = await target.put(a.path, { file: `${sourceRoot}/${a.path}`, size: a.size }, {
        ifAbsent: true,
        signal: abort,
      });
      index.add(a.path);
      this.#taken.delete(a.path);
      if (result === "stored") {
        this.totals.stored++;
        this.totals.storedBytes += a.size;
        observer?.stored?.(a);
      } else {
        // Another uploader's copy: its last use (from the listing) may call for a refresh.
        this.#taken.delete(a.path);
        this.totals.existed++;
        observer?.existed?.(a);
      }
      return true;
    } catch (err) {
      this.#taken.delete(a.path);
      if (isUnchanged(err)) {
        this.totals.notStarted++;
        return false;
      }
      if (isAbortError(err) || abort?.aborted) return await this.#settleCut(a);
      return this.#failed(a, err);
    }
  }
}
