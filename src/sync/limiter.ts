/** The one bound on work in flight in a process: transfers, deletions and reads share it. */

/** Runs async tasks with at most `max` of them in flight, in the order they were given. */
export class Limiter {
  #active = 0;
  #waiting: (() => void)[] = [];

  constructor(readonly max: number) {}

  /** Tasks running now. */
  get active(): number {
    return this.#active;
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `task` once a slot is free. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active < this.max) this.#active++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter, if any.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }

  /**
   * Runs `fn` on every item through this limiter and resolves when all are done. A failing item
   * does not stop the others; `fn` reports its own failures. Items not started when `stop`
   * aborts are skipped.
   */
  async forEach<T>(
    items: Iterable<T>,
    fn: (item: T) => Promise<void>,
    stop?: AbortSignal,
  ): Promise<void> {
    // At most `max` items are taken at a time: a million items are never a million promises.
    const iterator = items[Symbol.iterator]();
    const runner = async () => {
      for (let next = iterator.next(); !next.done; next = iterator.next()) {
        if (stop?.aborted) return;
        const item = next.value;
        await this.run(async () => {
          if (!stop?.aborted) await fn(item);
        }).catch(() => {});
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.max) }, runner));
  }
}
