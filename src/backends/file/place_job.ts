/** What the file backend's copy step is asked to do, and what it answers. */

/** One file to place: where from, the temporary and the final name, the size it must have. */
export interface PlaceJob {
  source: string;
  temp: string;
  target: string;
  size: number;
  /** Create-only: never replace an existing target. */
  exclusive: boolean;
}

/** What happened to a job: stored, already there (create-only), or abandoned on request. */
export type PlaceOutcome = "stored" | "exists" | "cancelled";

/**
 * How a placement learns that it was cancelled. `cancelled` may be asked at any time;
 * `cancelledOrCommit` is asked once, just before the file goes into place: false commits the
 * job, and a cancel that comes later can no longer stop it (the caller then waits for its
 * outcome instead of reporting an abort for a file that is stored).
 */
export interface CancelCheck {
  cancelled(): boolean;
  cancelledOrCommit(): boolean;
}

/** A job's state in the shared array of its batch. */
export const JOB_PENDING = 0;
export const JOB_CANCELLED = 1;
export const JOB_COMMITTED = 2;

/** The cancel check of job `index` of a batch whose states live in `states`. */
export function sharedCancelCheck(states: Int32Array, index: number): CancelCheck {
  return {
    cancelled: () => Atomics.load(states, index) === JOB_CANCELLED,
    cancelledOrCommit: () =>
      Atomics.compareExchange(states, index, JOB_PENDING, JOB_COMMITTED) === JOB_CANCELLED,
  };
}
