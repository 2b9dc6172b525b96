/** Waiting for a promise, bounded by time or by an abort signal, without ever rejecting. */

/** Settles when `promise` does, or after `ms` (whichever comes first). */
export function settledOrAfter(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
  return Promise.race([settledOf(promise), late]).finally(() => clearTimeout(timer));
}

/** Settles when `promise` does, or once `signal` is aborted (whichever comes first). */
export function settledOrAborted(promise: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener("abort", done);
      resolve();
    };
    signal.addEventListener("abort", done, { once: true });
    settledOf(promise).then(done);
  });
}

function settledOf(promise: Promise<unknown>): Promise<void> {
  return promise.then(() => {}, () => {});
}
