/**
 * Worker threads that could not run. The copier and the tree lister then do their work on the
 * main thread, which is correct but slower; a worker script missing from a broken build looks
 * like that, so the failure is reported (once per kind of thread) rather than passed over.
 */

/** Hears of worker threads that could not run: one line, what failed and why. */
export type ThreadFailureListener = (message: string) => void;

let listener: ThreadFailureListener | undefined;
const reported = new Set<string>();

/** Sends reports of failed worker threads to `report` until the returned handle is disposed. */
export function onThreadFailure(report: ThreadFailureListener): Disposable {
  listener = report;
  return {
    [Symbol.dispose]: () => {
      if (listener === report) listener = undefined;
    },
  };
}

/**
 * Reports that the `threads` (e.g. "copy threads") could not run, for `reason`, and that the
 * main thread is `instead` (e.g. "copying"); once per kind of thread and process.
 */
export function threadFailed(threads: string, instead: string, reason: string): void {
  if (reported.has(threads)) return;
  reported.add(threads);
  listener?.(
    `the ${threads} could not run (${reason.split("\n")[0]}); ${instead} on the main thread ` +
      "instead, more slowly",
  );
}
