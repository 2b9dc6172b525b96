/** Retrying transient failures with exponential backoff, for any backend. */
import { type Backend, BackendError, type CallOptions, type DeleteOutcome } from "./backend.ts";
import { type Clock, REAL_CLOCK, sleep } from "./clock.ts";
import { type DelegatedCall, DelegatingBackend } from "./delegating.ts";

/** How often and how patiently to retry. */
export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  /** The clock of the waits between attempts (default: the real one). */
  clock?: Clock;
}

/** The default: 5 attempts, about 0.2, 0.4, 0.8 and 1.6 s apart. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 200 };

/** Whether an error is worth another attempt. */
export function isTransient(err: unknown): boolean {
  return err instanceof BackendError && err.transient;
}

/** Whether `err` is a request that stalled (no byte for the stall timeout) or timed out. */
export function isStall(err: unknown): err is BackendError {
  return err instanceof BackendError && err.transient && err.code === "ETIMEDOUT";
}

/**
 * Calls `fn` until it succeeds, fails with an error that is not transient, or attempts run out;
 * an abort during the wait between attempts rejects with the signal's reason. A request that
 * stalled in its last attempt too means the target does not answer: that stops the run.
 */
export async function withRetry<T>(
  fn: () => Promise<T>,
  signal?: AbortSignal,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= policy.attempts && isStall(err) && !signal?.aborted) {
        throw new BackendError(`${err.message} (${attempt} attempts)`, "target", {
          cause: err,
          code: err.code,
        });
      }
      if (attempt >= policy.attempts || !isTransient(err) || signal?.aborted) throw err;
      const delay = policy.baseDelayMs * 2 ** (attempt - 1) * (0.75 + Math.random() / 2);
      await sleep(delay, signal, policy.clock ?? REAL_CLOCK);
    }
  }
}

/**
 * `backend` with transient failures of its single-file calls retried, unless it retries on its
 * own (`features.retriesInternally`): then it is returned as it is.
 */
export function retrying(backend: Backend, policy: RetryPolicy = DEFAULT_RETRY): Backend {
  if (backend.features.retriesInternally) return backend;
  return new RetryingBackend(backend, policy);
}

/**
 * Retries each call of the wrapped backend that fails transiently, except listings (a listing
 * retries its own requests) and pruning (each removal is retried on its own).
 */
export class RetryingBackend extends DelegatingBackend {
  constructor(inner: Backend, readonly policy: RetryPolicy) {
    super(inner);
  }

  protected override through<T>(
    method: DelegatedCall,
    call: () => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    if (method === "pruneEmptyDirs") return call();
    return withRetry(call, signal, this.policy);
  }

  /** Deletes in bulk, then retries the paths that failed transiently, one attempt at a time. */
  protected override async deleteInBulk(
    paths: readonly string[],
    options?: CallOptions,
  ): Promise<DeleteOutcome[]> {
    const outcomes = new Map<string, DeleteOutcome>();
    let todo = paths;
    for (let attempt = 1; todo.length > 0; attempt++) {
      const results = await withRetry(
        () => this.inner.deleteMany!(todo, options),
        options?.signal,
        this.policy,
      );
      for (const r of results) outcomes.set(r.path, r);
      todo = results.filter((r) => isTransient(r.error)).map((r) => r.path);
      if (attempt >= this.policy.attempts) break;
      if (todo.length > 0) {
        const delay = this.policy.baseDelayMs * 2 ** (attempt - 1);
        await sleep(delay, options?.signal, this.policy.clock ?? REAL_CLOCK);
      }
    }
    return paths.map((path) => outcomes.get(path) ?? { path });
  }
}
