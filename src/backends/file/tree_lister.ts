/**
 * Lists a local tree. Reading 25,000 directories is mostly kernel time, so a second thread
 * shortens it: for a caller with work of its own meanwhile (an upload walks its source while it
 * lists its target) the whole walk runs on a thread; otherwise the walk starts in-process and,
 * once it proves long, a helper thread takes a share of the root's subdirectories. Where no
 * thread can start, the same walk runs in-process.
 */
import { BackendError, type Entry, type FailureScope, type ListOptions } from "../backend.ts";
import { letOthersRun } from "../event_loop.ts";
import { threadFailed } from "../threads.ts";
import { linksNote, walkTree } from "./tree_walk.ts";

/** What the main thread asks the walk worker for. */
export interface WalkRequest {
  root: string;
  displayUrl: string;
  metadata: boolean;
  /** Shared with the main thread: see CANCEL, TAKEN and CLAIMED. */
  control: Int32Array;
  /**
   * Walk only the root's subdirectories `shared` that the worker claims (the main thread claims
   * the others), and hand the links to directories it skips back. Without it the worker walks
   * the whole tree and notes the links it skips itself.
   */
  shared?: string[];
}

/** Index in `WalkRequest.control` of the flag that stops the walk. */
export const CANCEL = 0;
/** Index in `WalkRequest.control` of the count of batches the main thread has taken. */
export const TAKEN = 1;
/** Index in `WalkRequest.control` of the count of shared subdirectories claimed so far. */
export const CLAIMED = 2;

/** What the walk worker answers, in order: entries and warnings, then an end or an error. */
export type WalkReply =
  | {
    kind: "files";
    /** The paths, joined by NUL (no file name holds one): one string to pass, not thousands. */
    paths: string;
    /** Sizes and modification times by index (null without metadata). */
    sizes: Float64Array | null;
    mtimes: Float64Array | null;
    /** Indexes of the files that are symbolic links. */
    links: number[];
  }
  | { kind: "warning"; message: string }
  /** The note on the links to directories the walk skipped (a whole walk). */
  | { kind: "note"; message: string }
  /** A link to a directory the walk skipped (a shared walk: the main thread notes them all). */
  | { kind: "link"; path: string }
  | { kind: "end" }
  | { kind: "error"; message: string; scope: FailureScope; code?: string };

const WALK_WORKER = new URL("./walk_worker.ts", import.meta.url);

/** How long an in-process walk runs alone before a helper thread joins it, in ms. */
const HELPER_AFTER_MS = 25;
/** How often an in-process walk takes the helper's batches, in ms. */
const TAKE_EVERY_MS = 4;

/**
 * The files of the tree below `root`, in batches (see `walkTree` for what is listed), walked
 * in-process, with a helper thread (unless `lean`) for a walk that has taken `helperAfterMs`
 * (`Infinity`: never) and is not half done. With 0 the helper starts at once and claims the
 * first subdirectory (a fixed order, for tests).
 */
export function listTree(
  root: string,
  displayUrl: string,
  options: ListOptions = {},
  helperAfterMs = HELPER_AFTER_MS,
): AsyncIterable<Entry[]> {
  return listInProcess(root, displayUrl, options, options.lean ? Infinity : helperAfterMs);
}

/** A walk worker and the replies it sent that were not taken yet. */
class WalkThread {
  /** Links to directories it skipped and handed back (a shared walk). */
  readonly links: string[] = [];
  readonly control = new Int32Array(new SharedArrayBuffer(12));
  ended = false;
  /** It stopped without an end: it could not run, or it crashed. */
  died = false;
  answered = false;
  #worker: Worker;
  #replies: WalkReply[] = [];
  #wake?: () => void;

  /** Throws if no worker can start. `claimed`: shared subdirectories claimed already. */
  constructor(
    request: Omit<WalkRequest, "control">,
    readonly onWarning?: (message: string) => void,
    claimed = 0,
    readonly onNote = onWarning,
  ) {
    Atomics.store(this.control, CLAIMED, claimed);
    this.#worker = new Worker(WALK_WORKER.href, { type: "module" });
    this.#worker.onmessage = (e: MessageEvent<WalkReply>) => {
      this.#replies.push(e.data);
      this.#wake?.();
    };
    this.#worker.onerror = (e) => {
      e.preventDefault();
      this.died = true;
      // Before its first answer the walk falls back to the main thread (after it, it fails).
      if (!this.answered) threadFailed("listing threads", "listing", e.message);
      this.#wake?.();
    };
    this.#worker.postMessage({ ...request, control: this.control });
  }

  /** The batches that arrived so far; warnings go to `onWarning`, errors are thrown. */
  *take(): Generator<Entry[]> {
    while (!this.ended && this.#replies.length > 0) {
      const reply = this.#replies.shift()!;
      this.answered = true;
      if (reply.kind === "files") {
        Atomics.add(this.control, TAKEN, 1);
        Atomics.notify(this.control, TAKEN);
        yield entriesOf(reply);
      } else if (reply.kind === "warning") this.onWarning?.(reply.message);
      else if (reply.kind === "note") this.onNote?.(reply.message);
      else if (reply.kind === "link") this.links.push(reply.path);
      else if (reply.kind === "end") this.ended = true;
      else throw new BackendError(reply.message, reply.scope, { code: reply.code });
    }
  }

  /** Resolves once a reply arrives, the worker dies or `signal` aborts. */
  async wait(signal?: AbortSignal): Promise<void> {
    if (this.#replies.length > 0 || this.died) return;
    const onAbort = () => this.#wake?.();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (!signal?.aborted) await new Promise<void>((resolve) => this.#wake = resolve);
    } finally {
      this.#wake = undefined;
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Everything else it sends, until its end. */
  async *rest(signal?: AbortSignal): AsyncGenerator<Entry[]> {
    for (;;) {
      yield* this.take();
      if (this.ended) return;
      if (this.died) throw new BackendError("the listing thread stopped");
      await this.wait(signal);
      signal?.throwIfAborted();
    }
  }

  /** Stops the worker (at once, or between two directories). */
  close(): void {
    Atomics.store(this.control, CANCEL, 1);
    Atomics.notify(this.control, TAKEN);
    this.#worker.terminate();
  }
}

/** The root's subdirectories (not links), sorted; none if the root cannot be read. */
function subdirectoriesOf(root: string): string[] {
  try {
    const names: string[] = [];
    for (const e of Deno.readDirSync(root)) if (e.isDirectory) names.push(e.name);
    return names.sort();
  } catch {
    return []; // the walk reports why
  }
}

/**
 * The walk in-process, in batches of a directory. The root's subdirectories are claimed one at
 * a time; once the walk has run `helperAfterMs` with at least half of them left, a helper
 * thread claims some too. The links to directories that both skip are noted once, at the end.
 */
async function* listInProcess(
  root: string,
  displayUrl: string,
  options: ListOptions,
  helperAfterMs: number,
): AsyncGenerator<Entry[]> {
  const names = subdirectoriesOf(root);
  let helper: WalkThread | undefined;
  let helperTried = false;
  /** Shared subdirectories this thread claimed: before the helper started, and since. */
  let claimedAlone = 0;
  let claimedBeside = 0;
  const claim = () => {
    if (!helper) return claimedAlone++;
    const next = Atomics.add(helper.control, CLAIMED, 1);
    if (next < names.length) claimedBeside++;
    return next;
  };
  const links: string[] = [];
  const started = performance.now();
  let lastTake = started;
  if (helperAfterMs === 0) {
    helperTried = true;
    helper = startHelper(root, displayUrl, options, names, 0);
    while (helper && Atomics.load(helper.control, CLAIMED) === 0 && !helper.died) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
  try {
    const onDirectoryLink = (path: string) => links.push(path);
    const walk = { ...options, share: { names, claim }, onDirectoryLink };
    for (const { files } of walkTree(root, displayUrl, walk)) {
      if (files.length > 0) yield files;
      const now = performance.now();
      if (!helperTried && now - started >= helperAfterMs) {
        helperTried = true;
        helper = startHelper(root, displayUrl, options, names, claimedAlone);
      }
      if (helper && now - lastTake >= TAKE_EVERY_MS) {
        await letOthersRun();
        yield* helper.take();
        lastTake = performance.now();
      }
    }
    if (!helper) {
      noteLinks(displayUrl, links, options);
      return;
    }
    const helperClaimed = names.length - claimedAlone - claimedBeside;
    // A helper that died before it claimed anything lost nothing: this thread walked it all.
    if (!(helper.died && !helper.answered && helperClaimed === 0)) {
      try {
        yield* helper.rest(options.signal);
      } catch (err) {
        if (err instanceof BackendError && helper.died) {
          throw new BackendError(`cannot list ${displayUrl}: the listing thread stopped`);
        }
        throw err;
      }
    }
    noteLinks(displayUrl, links.concat(helper.links), options);
  } finally {
    helper?.close();
  }
}

/**
 * A helper thread for the shared subdirectories from `claimed` on, if at least half of them are
 * left and a thread can start.
 */
function startHelper(
  root: string,
  displayUrl: string,
  options: ListOptions,
  names: string[],
  claimed: number,
): WalkThread | undefined {
  if (claimed * 2 > names.length || names.length - claimed < 2) return undefined;
  try {
    const request = { root, displayUrl, metadata: options.metadata ?? true, shared: names };
    return new WalkThread(request, options.onWarning, claimed);
  } catch {
    return undefined;
  }
}

/** Tells `options.onNote` (else `onWarning`) about the links to directories a walk skipped. */
function noteLinks(displayUrl: string, links: readonly string[], options: ListOptions): void {
  if (links.length > 0) (options.onNote ?? options.onWarning)?.(linksNote(displayUrl, links));
}

/** The entries of a batch of files. */
function entriesOf(batch: Extract<WalkReply, { kind: "files" }>): Entry[] {
  const { sizes, mtimes } = batch;
  const entries = batch.paths.split("\0").map((path, i): Entry => ({
    path,
    size: sizes ? sizes[i] : 0,
    mtime: mtimes ? mtimes[i] : 0,
  }));
  for (const i of batch.links) entries[i].isLink = true;
  return entries;
}
