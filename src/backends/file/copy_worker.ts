/// <reference lib="deno.worker" />
/**
 * Worker of the file copier: places each file of a batch (copy, check, move into place)
 * synchronously: a worker has nothing else to do, and sync calls skip the per-call overhead of
 * async ones. Replies with one outcome or error per job.
 */
import type { CopyBatch, CopyReply } from "./copier.ts";
import { placeFile } from "./place_file.ts";
import { sharedCancelCheck } from "./place_job.ts";

const madeDirs = new Set<string>();

self.onmessage = (event: MessageEvent<CopyBatch>) => {
  const { id, jobs, cancel, native } = event.data;
  const results = jobs.map((job, i) => {
    try {
      return placeFile(job, madeDirs, sharedCancelCheck(cancel, i), native);
    } catch (err) {
      const code = (err as { code?: string }).code;
      return { message: err instanceof Error ? err.message : String(err), code };
    }
  });
  self.postMessage({ id, results } satisfies CopyReply);
};
