/**
 * Lists a local tree, in-process or, for a caller with work of its own meanwhile, on a worker
 * thread: reading 25,000 directories is mostly kernel time, and on a thread of its own it
 * overlaps with what the main thread does (an upload walks its source while it lists its
 * target). Where no thread can start, the same walk runs in-process.
 */
import { BackendError, type Entry, type FailureScope, type ListOptions } from "./backend.ts";
import { walkTree } from "./tree_walk.ts";

/** What the main thread asks the walk worker for. */
export interface WalkRequest {
  root: string;
  displayUrl: string;
  metadata: boolean;
  /** Shared with the main thread: [CANCEL] set to stop the walk, [TAKEN] batches taken. */
  control: Int32Array;
}

/** Index in `WalkRequest.control` of the flag that stops the walk. */
export const CANCEL = 0;
/** Index in `WalkRequest.control` of the count of batches the main thread has taken. */
export const TAKEN = 1;

/** What the walk worker answers, in order: entries and warnings, then an end or an error. */
export type WalkReply =
  | {
    kind: "files";
    paths: string[];
    /** Sizes and modification times by index (null without metadata). */
    sizes: Float64Array | null;
    mtimes: Float64Array | null;
    /** Indexes of the files that are symbolic links. */
    links: number[];
  }
  | { kind: "warning"; message: string }
  | { kind: "end" }
  | { kind: "error"; message: string; scope: FailureScope; code?: string };

const WALK_WORKER = new URL("./walk_worker.ts", import.meta.url);

/**
 * The files of the tree below `root`, in batches (see `walkTree` for what is listed): with
 * `background` walked on a thread of its own, so that the caller's own work runs at the same
 * time; without, in-process, which is faster on its own.
 */
export function listTree(
  root: string,
  displayUrl: string,
  options: ListOptions = {},
): AsyncIterable<Entry[]> {
  if (options.background) return listInThread(root, displayUrl, options);
  return (async function* () {
    yield* listInProcess(root, displayUrl, options);
  })();
}

/** The files of the tree below `root`, walked on a worker thread, in batches. */
async function* listInThread(
  root: string,
  displayUrl: string,
  options: ListOptions = {},
): AsyncGenerator<Entry[]> {
  const { signal, onWarning } = options;
  signal?.throwIfAborted();
  let worker: Worker;
  try {
    worker = new Worker(WALK_WORKER.href, { type: "module" });
  } catch {
    yield* listInProcess(root, displayUrl, options);
    return;
  }
  const control = new Int32Array(new SharedArrayBuffer(8));
  const replies: WalkReply[] = [];
  let died = false;
  let wake: (() => void) | undefined;
  worker.onmessage = (e: MessageEvent<WalkReply>) => {
    replies.push(e.data);
    wake?.();
  };
  worker.onerror = (e) => {
    e.preventDefault();
    died = true;
    wake?.();
  };
  const onAbort = () => wake?.();
  signal?.addEventListener("abort", onAbort, { once: true });
  let answered = false;
  try {
    worker.postMessage({ root, displayUrl, metadata: options.metadata ?? true, control });
    for (;;) {
      while (replies.length === 0 && !died && !signal?.aborted) {
        await new Promise<void>((resolve) => wake = resolve);
        wake = undefined;
      }
      signal?.throwIfAborted();
      const reply = replies.shift();
      if (!reply) {
        // The thread could not run at all: walk here instead. Once it answered, that is a
        // failure of the listing.
        if (answered) throw new BackendError(`cannot list ${displayUrl}: the listing stopped`);
        yield* listInProcess(root, displayUrl, options);
        return;
      }
      answered = true;
      if (reply.kind === "files") {
        Atomics.add(control, TAKEN, 1);
        Atomics.notify(control, TAKEN);
        yield entriesOf(reply);
      } else if (reply.kind === "warning") onWarning?.(reply.message);
      else if (reply.kind === "end") return;
      else throw new BackendError(reply.message, reply.scope, { code: reply.code });
    }
  } finally {
    Atomics.store(control, CANCEL, 1);
    Atomics.notify(control, TAKEN);
    worker.terminate();
    signal?.removeEventListener("abort", onAbort);
  }
}

/** The entries of a batch of files. */
function entriesOf(batch: Extract<WalkReply, { kind: "files" }>): Entry[] {
  const { paths, sizes, mtimes } = batch;
  const entries = paths.map((path, i): Entry => ({
    path,
    size: sizes ? sizes[i] : 0,
    mtime: mtimes ? mtimes[i] : 0,
  }));
  for (const i of batch.links) entries[i].isLink = true;
  return entries;
}

/** The same walk on this thread, in batches of a directory. */
function* listInProcess(root: string, displayUrl: string, options: ListOptions) {
  for (const { files } of walkTree(root, displayUrl, options)) {
    if (files.length > 0) yield files;
  }
}
