/// <reference lib="deno.worker" />
/**
 * Worker of the tree lister: walks one tree (see `walkTree`), or its share of the main thread's
 * walk, and posts its files in batches of flat columns (the paths as one string, sizes, times:
 * cheaper to pass between threads than objects), each warning where it occurs, and an end or an
 * error. It runs a few batches ahead of the main thread at most; the main thread's cancel flag
 * stops it between two directories.
 */
import { BackendError } from "../backend.ts";
import { CANCEL, CLAIMED, TAKEN, type WalkReply, type WalkRequest } from "./tree_lister.ts";
import { type WalkOptions, walkTree } from "./tree_walk.ts";

/** Files per message: few messages, and the first arrives soon. */
const BATCH = 2048;
/** Batches posted and not yet taken, at most: the walk waits beyond, so memory stays flat. */
const AHEAD = 4;

self.onmessage = (event: MessageEvent<WalkRequest>) => {
  const { root, displayUrl, metadata, control, shared } = event.data;
  const post = (reply: WalkReply) => self.postMessage(reply);
  let posted = 0;
  let paths: string[] = [];
  let sizes: number[] = [];
  let mtimes: number[] = [];
  let links: number[] = [];
  /** Posts the batch, then waits while the main thread has too many batches to take. */
  const flush = () => {
    post({
      kind: "files",
      paths: paths.join("\0"),
      sizes: metadata ? Float64Array.from(sizes) : null,
      mtimes: metadata ? Float64Array.from(mtimes) : null,
      links,
    });
    paths = [];
    sizes = [];
    mtimes = [];
    links = [];
    posted++;
    for (;;) {
      const taken = Atomics.load(control, TAKEN);
      if (posted - taken < AHEAD || Atomics.load(control, CANCEL) !== 0) return;
      Atomics.wait(control, TAKEN, taken, 1000);
    }
  };
  try {
    const onWarning = (message: string) => post({ kind: "warning", message });
    const onNote = (message: string) => post({ kind: "note", message });
    const walk: WalkOptions = { metadata, onWarning, onNote };
    if (shared) {
      // A share of the main thread's walk: the subdirectories claimed here, skipped links
      // handed back (the main thread notes them together with its own).
      walk.share = { names: shared, claim: () => Atomics.add(control, CLAIMED, 1) };
      walk.claimedOnly = true;
      walk.onDirectoryLink = (path) => post({ kind: "link", path });
    }
    for (const { files } of walkTree(root, displayUrl, walk)) {
      if (Atomics.load(control, CANCEL) !== 0) return;
      for (const f of files) {
        if (f.isLink) links.push(paths.length);
        paths.push(f.path);
        if (metadata) {
          sizes.push(f.size);
          mtimes.push(f.mtime);
        }
      }
      if (paths.length >= BATCH) flush(); // between directories: none is split
    }
    if (paths.length > 0) flush();
    post({ kind: "end" });
  } catch (err) {
    const e = err as Error & { code?: string };
    post({
      kind: "error",
      message: e.message,
      scope: err instanceof BackendError ? err.scope : "target",
      code: e.code,
    });
  }
};
