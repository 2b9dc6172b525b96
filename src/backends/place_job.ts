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
