/**
 * Copies local files into place (copy to a temporary name, rename) on a few worker threads, in
 * batches: per file that costs a fraction of two async calls, and it uses every core. Where
 * workers cannot start, the same work runs in-process with async calls.
 */

/**
 * A batch sent to a worker: [source, temporary name, final name] per job, and the shared stop
 * flag (non-zero: start no further job).
 */
export interface CopyBatch {
  id: number;
  jobs: [string, string, string][];
  stop: Int32Array;
}

/** A worker's answer: per job, null or what went wrong. */
export interface CopyReply {
  id: number;
  errors: ({ message: string; code?: string } | null)[];
}

/** Why a copy failed, with the errno code where there is one. */
export class CopyError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = "CopyError";
  }
}

interface Job {
  source: string;
  temp: string;
  target: string;
  resolve: () => void;
  reject: (err: CopyError) => void;
}

/** Jobs per message to a worker. */
const BATCH = 16;

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}

/** The in-process path: the same steps with async calls. */
async function copyInProcess(job: Job): Promise<void> {
  const attempt = async () => {
    await Deno.copyFile(job.source, job.temp);
    await Deno.rename(job.temp, job.target);
  };
  try {
    await Deno.mkdir(parentOf(job.target), { recursive: true });
    try {
      await attempt();
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      // The directory may have been pruned by a concurrent clean: recreate it once.
      await Deno.mkdir(parentOf(job.target), { recursive: true });
      await attempt();
    }
    job.resolve();
  } catch (err) {
    await Deno.remove(job.temp).catch(() => {});
    const e = err as Error & { code?: string };
    job.reject(new CopyError(e.message, e.code));
  }
}

/** A pool of copy workers, started on first use. */
export class Copier {
  #workers: Worker[] = [];
  #idle: Worker[] = [];
  #queue: Job[] = [];
  #inFlight = new Map<number, { worker: Worker; jobs: Job[]; done: () => void }>();
  #settled = new Map<number, Promise<void>>();
  #inProcess = new Set<Promise<void>>();
  #stop = new Int32Array(new SharedArrayBuffer(4));
  #nextId = 0;
  #started = false;
  #broken = false;

  /** `threads` workers running `script` (the copy worker; other values are for tests). */
  constructor(
    readonly threads: number,
    readonly script: URL = new URL("./copy_worker.ts", import.meta.url),
  ) {}

  /** Copies `source` to `temp`, then renames it to `target` (creating directories). */
  copy(source: string, temp: string, target: string): Promise<void> {
    if (Atomics.load(this.#stop, 0) !== 0) {
      return Promise.reject(new CopyError("interrupted", "ECANCELED"));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ source, temp, target, resolve, reject });
      this.#pump();
    });
  }

  /** Whether copies run on worker threads (false once they could not start). */
  get usesWorkers(): boolean {
    return !this.#broken;
  }

  /**
   * Starts no further copy (queued ones fail as interrupted) and resolves once the copies in
   * progress have finished, so that no temporary file is still being written.
   */
  async interrupt(): Promise<void> {
    Atomics.store(this.#stop, 0, 1);
    for (const job of this.#queue.splice(0)) job.reject(new CopyError("interrupted", "ECANCELED"));
    await Promise.all([...this.#settled.values(), ...this.#inProcess]);
  }

  /** Stops the workers. */
  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
    this.#idle = [];
    this.#started = false;
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
          this.#fail();
        };
        this.#workers.push(worker);
        this.#idle.push(worker);
      }
    } catch {
      this.#fail();
    }
  }

  #pump(): void {
    if (!this.#started && !this.#broken) this.#start();
    if (this.#broken) {
      for (const job of this.#queue.splice(0)) {
        const copy = copyInProcess(job);
        this.#inProcess.add(copy);
        copy.finally(() => this.#inProcess.delete(copy));
      }
      return;
    }
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const worker = this.#idle.pop()!;
      const jobs = this.#queue.splice(0, BATCH);
      const id = this.#nextId++;
      let done!: () => void;
      this.#settled.set(id, new Promise((resolve) => done = resolve));
      this.#inFlight.set(id, { worker, jobs, done });
      const batch: CopyBatch = {
        id,
        jobs: jobs.map((j) => [j.source, j.temp, j.target]),
        stop: this.#stop,
      };
      worker.postMessage(batch);
    }
  }

  #finished(worker: Worker, reply: CopyReply): void {
    const batch = this.#inFlight.get(reply.id);
    if (!batch) return;
    this.#inFlight.delete(reply.id);
    this.#settled.delete(reply.id);
    batch.done();
    batch.jobs.forEach((job, i) => {
      const error = reply.errors[i];
      if (error) job.reject(new CopyError(error.message, error.code));
      else job.resolve();
    });
    this.#idle.push(worker);
    this.#pump();
  }

  /** A worker could not start or died: finish everything in-process from now on. */
  #fail(): void {
    this.#broken = true;
    this.close();
    const batches = [...this.#inFlight.values()];
    for (const b of batches) b.done();
    const pending = batches.flatMap((b) => b.jobs);
    this.#inFlight.clear();
    this.#settled.clear();
    this.#queue.unshift(...pending);
    this.#pump();
  }
}
