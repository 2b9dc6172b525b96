/**
 * The upload engine shared by `upload` and `watch`: compare local artifacts with one remote
 * listing, then copy what is missing, siginfo and signatures before archives, in parallel.
 */
import { type Backend, BackendError } from "../backends/backend.ts";
import { type Artifact, artifactKind } from "../cache/artifact.ts";
import { describeError } from "../cli/errors.ts";
import { runPool } from "./pool.ts";
import { withRetry } from "./retry.ts";

/** What an upload will do. */
export interface UploadPlan {
  /** Missing on the target, in upload order (siginfo and signatures first). */
  missing: Artifact[];
  /** Already on the target. */
  present: Artifact[];
}

/** Splits local artifacts into missing and present, given the target's paths. */
export function planUpload(
  local: readonly Artifact[],
  remotePaths: ReadonlySet<string>,
): UploadPlan {
  const missing: Artifact[] = [];
  const present: Artifact[] = [];
  for (const a of local) (remotePaths.has(a.path) ? present : missing).push(a);
  const rank = (a: Artifact) => (artifactKind(a.suffix) === "archive" ? 1 : 0);
  missing.sort((a, b) => rank(a) - rank(b) || (a.path < b.path ? -1 : 1));
  return { missing, present };
}

/** Callbacks an upload reports through. */
export interface UploadObserver {
  started?(artifact: Artifact): void;
  finished?(artifact: Artifact): void;
  failed?(artifact: Artifact, message: string): void;
}

/** Settings of one upload run. */
export interface UploadSettings {
  /** Local directory the artifacts' paths are relative to. */
  sourceRoot: string;
  target: Backend;
  jobs: number;
  observer?: UploadObserver;
}

/** The outcome of an upload run. */
export interface UploadResult {
  uploaded: number;
  uploadedBytes: number;
  failures: { path: string; message: string }[];
}

/**
 * Uploads `items` (from planUpload's `missing`): first every siginfo and signature, then the
 * archives, so an archive is never visible before its siginfo. Per-file failures are
 * collected; the others go on.
 */
export async function executeUpload(
  items: readonly Artifact[],
  settings: UploadSettings,
): Promise<UploadResult> {
  const result: UploadResult = { uploaded: 0, uploadedBytes: 0, failures: [] };
  const { target, observer } = settings;
  const upload = async (a: Artifact) => {
    try {
      observer?.started?.(a);
      await withRetry(() => target.put(a.path, `${settings.sourceRoot}/${a.path}`));
      result.uploaded++;
      result.uploadedBytes += a.size;
      observer?.finished?.(a);
    } catch (err) {
      if (err instanceof BackendError && err.code === "ECANCELED") return; // interrupted
      const message = describeError(err);
      result.failures.push({ path: a.path, message });
      observer?.failed?.(a, message);
    }
  };
  const metadata = items.filter((a) => artifactKind(a.suffix) !== "archive");
  const archives = items.filter((a) => artifactKind(a.suffix) === "archive");
  await runPool(metadata, settings.jobs, upload);
  await runPool(archives, settings.jobs, upload);
  return result;
}
