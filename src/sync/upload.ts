/**
 * The upload engine shared by `upload` and `watch`: one listing of the target (into a
 * RemoteIndex), a walk of the local cache that feeds the upload queue directory by directory as
 * it goes (siginfo before archives), then a drain of the queue.
 */
import type { Backend } from "../backends/backend.ts";
import type { FileBackend } from "../backends/file.ts";
import { type Artifact, artifactKind, parseArtifactName } from "../cache/artifact.ts";
import type { ArtifactFilter } from "../cache/filter.ts";
import type { Limiter } from "./limiter.ts";
import { RemoteIndex } from "./remote_index.ts";
import { isOrphanedTemp } from "./stale_temps.ts";
import { type QueueTotals, type UploadObserver, UploadQueue } from "./upload_queue.ts";

/** What a walk of the local cache found. */
export interface UploadPlan {
  /** Artifacts the target lacks, and their bytes. */
  missing: number;
  missingBytes: number;
  /** Artifacts the target has. */
  present: number;
  /** Files that are not sstate artifacts (never uploaded). */
  otherFiles: number;
}

/** What an upload reports besides the queue's events. */
export interface UploadEvents extends UploadObserver {
  /** An artifact the target has already. */
  present?(artifact: Artifact): void;
  /** An artifact a dry run would upload. */
  wouldUpload?(artifact: Artifact): void;
  /** The local walk is complete: the plan is known (uploads may be running already). */
  planned?(plan: UploadPlan): void;
  /** Part of a cache was skipped (unreadable directory); once per part. */
  warning?(message: string): void;
  /** Leftover temporary files of this host's killed uploads were removed from the target. */
  removedOrphans?(count: number): void;
}

/** Everything one upload run needs. */
export interface UploadSettings {
  source: FileBackend;
  target: Backend;
  /** False when the target does not exist yet (and has nothing to list). */
  targetExists: boolean;
  filter?: ArtifactFilter;
  limiter: Limiter;
  dryRun?: boolean;
  /** Aborted: start no further put (the first Ctrl-C). */
  stop?: AbortSignal;
  /** Aborted: cut the puts in flight too (the second Ctrl-C). */
  abort?: AbortSignal;
}

/** The outcome of an upload run. */
export interface UploadSummary {
  plan: UploadPlan;
  totals: QueueTotals;
  /** Parts of the source or target skipped with a warning. */
  warnings: number;
  /** The queue stopped at this target-wide failure. */
  targetError?: Error;
}

/** How long the walk may keep the event loop before letting copies report back, in ms. */
const WALK_SLICE_MS = 2;

const yieldToEventLoop = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Lists the target into `index` and removes this host's orphaned temporary files. */
async function indexTarget(
  settings: UploadSettings,
  index: RemoteIndex,
  events: UploadEvents,
  warn: (message: string) => void,
): Promise<void> {
  if (!settings.targetExists) return;
  const orphans: string[] = [];
  await index.fill(settings.target, { signal: settings.abort, onWarning: warn }, (path) => {
    if (path.endsWith(".tmp") && isOrphanedTemp(path)) orphans.push(path);
  });
  if (orphans.length > 0 && !settings.dryRun) {
    let removed = 0;
    await settings.limiter.forEach(orphans, async (path) => {
      await settings.target.delete(path, { signal: settings.abort });
      removed++;
    });
    events.removedOrphans?.(removed);
  }
}

/**
 * Uploads every local artifact (passing the filter) that the target lacks. The target is listed
 * while the local walk starts; from then on each directory's missing artifacts go to the queue
 * as soon as it is read, so copies run during the walk.
 */
export async function runUpload(
  settings: UploadSettings,
  events: UploadEvents = {},
): Promise<UploadSummary> {
  const { source, filter, stop } = settings;
  let warnings = 0;
  const warn = (message: string) => {
    warnings++;
    events.warning?.(message);
  };
  const index = new RemoteIndex();
  let indexReady = false;
  const indexed = indexTarget(settings, index, events, warn).then(() => indexReady = true);
  indexed.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile

  const queue = new UploadQueue({
    sourceRoot: source.root,
    target: settings.target,
    limiter: settings.limiter,
    index,
    stop,
    abort: settings.abort,
    observer: events,
  });
  const plan: UploadPlan = { missing: 0, missingBytes: 0, present: 0, otherFiles: 0 };
  const handle = (artifacts: Artifact[]) => {
    for (const a of artifacts) {
      if (index.has(a.path)) {
        plan.present++;
        events.present?.(a);
        continue;
      }
      const size = source.sizeOf(a.path);
      if (size === null) continue; // vanished since the walk read its directory
      a.size = size;
      plan.missing++;
      plan.missingBytes += size;
      if (settings.dryRun) events.wouldUpload?.(a);
      else queue.enqueue(a);
    }
  };

  let held: Artifact[][] = [];
  let slice = performance.now();
  for (const { files } of source.directories({ metadata: false, onWarning: warn })) {
    if (stop?.aborted) break;
    const metadata: Artifact[] = [];
    const archives: Artifact[] = [];
    for (const entry of files) {
      const name = parseArtifactName(entry.path);
      if (!name) plan.otherFiles++;
      else if (!filter || filter(name)) {
        (artifactKind(name.suffix) === "archive" ? archives : metadata).push({ ...entry, ...name });
      }
    }
    // Siginfo and signatures first: the queue holds each archive until its own are stored.
    held.push(metadata, archives);
    if (indexReady) {
      held.forEach(handle);
      held = [];
    }
    if (performance.now() - slice > WALK_SLICE_MS) {
      await yieldToEventLoop();
      slice = performance.now();
    }
  }
  await indexed;
  held.forEach(handle);
  events.planned?.(plan);
  const totals = await queue.drain();
  return { plan, totals, warnings, targetError: queue.targetError };
}
