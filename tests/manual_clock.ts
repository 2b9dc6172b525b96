/** A clock that moves only when a test moves it: timers run in order as it passes their time. */
import type { Clock, Timer } from "../src/backends/clock.ts";

/** Lets the promises and I/O callbacks that are ready run (a turn of the event loop). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Time stands still until `advance`; timers due by then run one by one, in order. */
export class ManualClock implements Clock {
  #now: number;
  #next = 1;
  #timers = new Map<number, { at: number; fn: () => void }>();

  /** Starts at `start` (default: the real time now, so that file times compare sensibly). */
  constructor(start = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id as unknown as Timer;
  }

  clearTimeout(timer: Timer | undefined): void {
    this.#timers.delete(timer as unknown as number);
  }

  /** Timers not run yet. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Moves time on by `ms`, running every timer due meanwhile at its time (also those the timers
   * set), and letting what they start run before the next one.
   */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (;;) {
      let first: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= end && (!first || entry[1].at < first[1].at)) first = entry;
      }
      if (!first) break;
      this.#timers.delete(first[0]);
      this.#now = first[1].at;
      first[1].fn();
      await settle();
    }
    this.#now = end;
    await settle();
  }
}
