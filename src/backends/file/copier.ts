/**
 * Places local files into a directory tree (copy to a temporary name, move into place) on a few
 * worker threads, in batches: per file that costs a fraction of two async calls, and it uses
 * every core. Where workers cannot start, the same step runs in-process.
 */
import { placeFile } from "./place_file.ts";
import { threadFailed } from "../threads.ts";
import {
  JOB_CANCELLED,
  JOB_COMMITTED,
  JOB_PENDING,
  type PlaceJob,
  type PlaceOutcome,
} from "./place_job.ts";

/**
 * A batch sent to a worker: its jobs, and one state per job (see `sharedCancelCheck`): the main
 * thread cancels a job that is not committed yet; the worker commits it before the move into
 * place.
 */
export interface CopyBatch {
  id: number;
  jobs: PlaceJob[];
  cancel: Int32Array;
  /** Whether the native way may be used. */
  native: boolean;
}

/** A worker's answer: per job, its outcome or what went wrong. */
export interface CopyReply {
  id: number;
  results: (PlaceOutcome | { message: string; code?: string })[];
}

/** Why a copy failed, with the errno code where there is one. */
export class CopyError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = "CopyError";
  }
}

interface Pending {
  job: PlaceJob;
  signal?: AbortSignal;
  resolve: (outcome: "stored" | "exists") => void;
  reject: (err: unknown) => void;
  /** Where the job's cancel flag lives once it was sent to a worker. */
  sent?: { cancel: Int32Array; index: number };
  settled: boolean;
}

/** The most jobs in one message to a worker. */
const MAX_BATCH = 64;
/**
 * Batches a worker may hold at once: with two, it starts the next as soon as it is done with
 * one, without waiting for the main thread to read its reply.
 */
const BATCHES_PER_WORKER = 2;

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // never created, or already moved into place
  }
}

/** A pool of copy workers, started on first use. */
export class Copier {
  #workers: Worker[] = [];
  /** One entry per batch a worker can take now. */
  #idle: Worker[] = [];
  #queue: Pending[] = [];
  #inFlight = new Map<number, { worker: Worker; jobs: Pending[] }>();
  #madeDirs = new Set<string>();
  #bySignal = new WeakMap<AbortSignal, Set<Pending>>();
  #nextId = 0;
  #started = false;
  #broken = false;
  #pumpScheduled = false;

  /**
   * `threads` workers running `script` (the copy worker; other values are for tests); `native`
   * false keeps to the portable way of placing files (for tests of it).
   */
  constructor(
    readonly threads: number,
    readonly script: URL = new URL("./copy_worker.ts", import.meta.url),
    readonly native = true,
  ) {}

  /**
   * Copies `job.source` to `job.temp`, then moves it to `job.target` (creating directories).
   * An abort rejects at once with the signal's reason and removes the temporary file, and the
   * worker abandons the job, unless the file is already going into place: then the copy
   * settles with that outcome, so an aborted copy never leaves a file it reported as not stored.
   */
  copy(job: PlaceJob, signal?: AbortSignal): Promise<"stored" | "exists"> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const pending: Pending = { job, signal, resolve, reject, settled: false };
      if (signal) this.#watch(signal).add(pending);
      this.#queue.push(pending);
      this.#schedulePump();
    });
  }

  /**
   * The unsettled copies under `signal`, with one abort listener for all of them (the copies of
   * an upload share one signal: no listener per file).
   */
  #watch(signal: AbortSignal): Set<Pending> {
    let pendings = this.#bySignal.get(signal);
    if (!pendings) {
      const watched = pendings = new Set();
      this.#bySignal.set(signal, watched);
      signal.addEventListener("abort", () => {
        this.#bySignal.delete(signal);
        for (const p of watched) this.#abandon(p);
      }, { once: true });
    }
    return pendings;
  }

  /** Pumps once the current task is done, so that copies asked for together go as one batch. */
  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Whether copies run on worker threads (false once they could not start). */
  get usesWorkers(): boolean {
    return !this.#broken;
  }

  /** Stops the workers. */
  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
    this.#idle = [];
    this.#started = false;
  }

  #abandon(p: Pending): void {
    if (p.settled) return;
    if (p.sent) {
      const { cancel, index } = p.sent;
      const state = Atomics.compareExchange(cancel, index, JOB_PENDING, JOB_CANCELLED);
      // Committed: the file is going into place; its outcome, due at once, settles the copy.
      if (state === JOB_COMMITTED) return;
    } else this.#queue.splice(this.#queue.indexOf(p), 1);
    removeQuietly(p.job.temp);
    this.#settle(p, p.signal!.reason);
  }

  #settle(p: Pending, result: PlaceOutcome | { message: string; code?: string } | unknown): void {
    if (p.settled) return;
    p.settled = true;
    if (p.signal) this.#bySignal.get(p.signal)?.delete(p);
    if (result === "stored" || result === "exists") p.resolve(result);
    else if (result === "cancelled") p.reject(p.signal?.reason ?? new CopyError("cancelled"));
    else if (result instanceof Error || result instanceof DOMException) p.reject(result);
    else {
      const { message, code } = result as { message: string; code?: string };
      p.reject(new CopyError(message, code));
    }
  }

  /** Starts the worker threads (if not started yet), before the first copy needs them. */
  start(): void {
    if (!this.#started && !this.#broken) this.#start();
  }

  #start(): void {
    this.#started = true;
    if (this.threads < 1) return this.#fail();
    try {
      for (let i = 0; i < this.threads; i++) {
        const worker = new Worker(this.script.href, { type: "module" });
        worker.onmessage = (e: MessageEvent<CopyReply>) => this.#finished(worker, e.data);
        worker.onerror = (e) => {
          e.preventDefault();
          this.#fail(e.message);
        };
        this.#workers.push(worker);
        for (let b = 0; b < BATCHES_PER_WORKER; b++) this.#idle.push(worker);
      }
    } catch (err) {
      this.#fail(err instanceof Error ? err.message : String(err));
    }
  }

  #pump(): void {
    this.start();
    if (this.#broken) {
      for (const p of this.#queue.splice(0)) this.#placeInProcess(p);
      return;
    }
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      // Share what is queued among the free slots, so no thread idles while another has a
      // long batch.
      const size = Math.min(MAX_BATCH, Math.ceil(this.#queue.length / this.#idle.length));
      const jobs = this.#queue.splice(0, size);
      const worker = this.#idle.shift()!;
      const id = this.#nextId++;
      const cancel = new Int32Array(new SharedArrayBuffer(4 * jobs.length));
      jobs.forEach((p, index) => p.sent = { cancel, index });
      this.#inFlight.set(id, { worker, jobs });
      const batch: CopyBatch = { id, jobs: jobs.map((p) => p.job), cancel, native: this.native };
      worker.postMessage(batch);
    }
  }

  #placeInProcess(p: Pending): void {
    if (p.settled) return;
    try {
      const cancelled = () => p.signal?.aborted ?? false;
      const check = { cancelled, cancelledOrCommit: cancelled };
      this.#settle(p, placeFile(p.job, this.#madeDirs, check, this.native));
    } catch (err) {
      const e = err as Error & { code?: string };
      this.#settle(p, { message: e.message, code: e.code });
    }
  }

  #finished(worker: Worker, reply: CopyReply): void {
    const batch = this.#inFlight.get(reply.id);
    if (!batch) return;
    this.#inFlight.delete(reply.id);
    batch.jobs.forEach((p, i) => this.#settle(p, reply.results[i]));
    this.#idle.push(worker);
    this.#pump();
  }

  /**
   * A worker could not start or died (`reason`, reported; none when no threads were asked for):
   * finish everything in-process from now on.
   */
  #fail(reason?: string): void {
    if (reason !== undefined) threadFailed("copy threads", "copying", reason);
    this.#broken = true;
    this.close();
    const pending = [...this.#inFlight.values()].flatMap((b) => b.jobs);
    this.#inFlight.clear();
    for (const p of pending) p.sent = undefined;
    this.#queue.unshift(...pending.filter((p) => !p.settled));
    this.#schedulePump();
  }
}
