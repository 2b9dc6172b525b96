/** Bounded parallelism: run a worker over items with at most `jobs` in flight. */

/** Runs `worker` on every item, `jobs` at a time, in order of the array. Never rejects. */
export async function runPool<T>(
  items: readonly T[],
  jobs: number,
  worker: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await worker(item);
      } catch {
        // workers report their own failures
      }
    }
  });
  await Promise.all(lanes);
}
