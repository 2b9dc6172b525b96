/** Retrying transient failures with exponential backoff. */
import { BackendError } from "../backends/backend.ts";

/** How often and how patiently to retry. */
export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
}

/** The default: 4 attempts, 200 ms, 400 ms, 800 ms apart (plus jitter). */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 200 };

/** Whether an error is worth another attempt. */
export function isTransient(err: unknown): boolean {
  return err instanceof BackendError && err.transient;
}

/** Calls `fn` until it succeeds, a non-transient error occurs, or attempts run out. */
export async function withRetry<T>(
  fn: () => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= policy.attempts || !isTransient(err)) throw err;
      const delay = policy.baseDelayMs * 2 ** (attempt - 1) * (0.75 + Math.random() / 2);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
