/**
 * Per-file retries for `watch`: an artifact whose upload failed for a reason of its own (it
 * changed size while being copied, it could not be read) is offered again after a backoff that
 * grows with each failure (1 s, doubling up to a minute), never dropped. At most one entry per
 * artifact of the source, so memory stays bounded.
 */
import { type Clock, REAL_CLOCK, type Timer } from "../../backends/clock.ts";
import type { Artifact } from "../../cache/artifact.ts";
import { type Backoff, OUTAGE_BACKOFF } from "./outage.ts";

interface Entry {
  artifact: Artifact;
  failures: number;
  due: number;
}

/** Failed artifacts waiting for their next attempt. */
export class RetryBook {
  #entries = new Map<string, Entry>();
  #timer?: Timer;
  #timerAt = Infinity;

  /** `due` receives the artifacts whose time has come. */
  constructor(
    readonly due: (artifacts: Artifact[]) => void,
    readonly backoff: Backoff = OUTAGE_BACKOFF,
    readonly clock: Clock = REAL_CLOCK,
  ) {}

  /** Artifacts waiting for another attempt. */
  get size(): number {
    return this.#entries.size;
  }

  /** Artifacts waiting for their time (not handed on for another attempt yet). */
  get waiting(): number {
    let count = 0;
    for (const entry of this.#entries.values()) if (entry.due !== Infinity) count++;
    return count;
  }

  /** Records a failure; returns the delay before the next attempt, in ms. */
  failed(artifact: Artifact): number {
    const failures = (this.#entries.get(artifact.path)?.failures ?? 0) + 1;
    const { firstDelayMs, maxDelayMs } = this.backoff;
    const delay = Math.min(firstDelayMs * 2 ** (failures - 1), maxDelayMs);
    this.#entries.set(artifact.path, { artifact, failures, due: this.clock.now() + delay });
    this.#arm();
    return delay;
  }

  /** Forgets `path` (it was uploaded after all, or is gone). */
  forget(path: string): void {
    this.#entries.delete(path);
  }

  /** Hands every waiting artifact on now, whatever its backoff (a final flush). */
  releaseAll(): void {
    for (const entry of this.#entries.values()) if (entry.due !== Infinity) entry.due = 0;
    this.#fire();
  }

  /** Stops the timer. */
  close(): void {
    this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #fire(): void {
    const now = this.clock.now();
    const ready: Artifact[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.due <= now) {
        entry.due = Infinity; // handed on; a new failure sets a new time
        ready.push(entry.artifact);
      }
    }
    if (ready.length > 0) this.due(ready);
    this.#arm();
  }

  #arm(): void {
    let next = Infinity;
    for (const entry of this.#entries.values()) next = Math.min(next, entry.due);
    if (next === this.#timerAt) return;
    this.clock.clearTimeout(this.#timer);
    this.#timerAt = next;
    if (next === Infinity) return;
    this.#timer = this.clock.setTimeout(() => {
      this.#timerAt = Infinity;
      this.#fire();
    }, Math.max(0, next - this.clock.now()));
  }
}
