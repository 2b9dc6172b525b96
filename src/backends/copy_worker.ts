/// <reference lib="deno.worker" />
/**
 * Worker of the file copier: copies each file of a batch to its temporary name and renames it
 * into place, synchronously (a worker has nothing else to do, and sync calls skip the per-call
 * overhead of async ones). Replies with one error message or null per job.
 */
import type { CopyBatch, CopyReply } from "./copier.ts";

const madeDirs = new Set<string>();

function copyOne(source: string, temp: string, target: string): void {
  const dir = target.slice(0, target.lastIndexOf("/"));
  const attempt = () => {
    Deno.copyFileSync(source, temp);
    Deno.renameSync(temp, target);
  };
  try {
    if (!madeDirs.has(dir)) {
      Deno.mkdirSync(dir, { recursive: true });
      madeDirs.add(dir);
    }
    try {
      attempt();
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      // The directory may have been pruned by a concurrent clean: recreate it once.
      Deno.mkdirSync(dir, { recursive: true });
      attempt();
    }
  } catch (err) {
    try {
      Deno.removeSync(temp);
    } catch {
      // never created
    }
    throw err;
  }
}

self.onmessage = (event: MessageEvent<CopyBatch>) => {
  const { jobs, stop } = event.data;
  const errors = jobs.map(([source, temp, target]) => {
    if (Atomics.load(stop, 0) !== 0) return { message: "interrupted", code: "ECANCELED" };
    try {
      copyOne(source, temp, target);
      return null;
    } catch (err) {
      const code = (err as { code?: string }).code;
      return { message: err instanceof Error ? err.message : String(err), code };
    }
  });
  self.postMessage({ id: event.data.id, errors } satisfies CopyReply);
};
