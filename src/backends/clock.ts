/**
 * Time as the timers of retries, settling and watch's outage gate see it: the real clock in the
 * tool, one moved by hand in their tests (which then need no real waiting).
 */

/** A pending timer of a clock. */
export type Timer = ReturnType<typeof setTimeout>;

/** Now, and timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once `ms` have passed. */
  setTimeout(fn: () => void, ms: number): Timer;
  /** Cancels a timer (undefined: none). */
  clearTimeout(timer: Timer | undefined): void;
}

/** The real clock. */
export const REAL_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer),
};

/** Resolves after `ms` on `clock`; rejects with the signal's reason if it aborts first. */
export function sleep(ms: number, signal?: AbortSignal, clock: Clock = REAL_CLOCK): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
