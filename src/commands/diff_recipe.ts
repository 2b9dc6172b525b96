/**
 * `diff --recipe PN --task TASK CACHE`: the two most recent signatures of one recipe's task in a
 * cache, as `bitbake-diffsigs -t PN TASK` finds them in a build directory.
 */
import type { Backend } from "../backends/backend.ts";
import { type Artifact, artifactKind } from "../cache/artifact.ts";
import { listArtifacts } from "../cache/listing.ts";
import type { Printer } from "./command.ts";
import { CommandError } from "./command.ts";

/** What to look for: the recipe, its task (no `do_`), and optionally the arch. */
export interface RecipeTask {
  pn: string;
  task: string;
  arch?: string;
}

/** The two signatures to compare (older first) and every artifact of the cache. */
export interface LatestPair {
  older: Artifact;
  newer: Artifact;
  artifacts: Artifact[];
}

/** `PN:do_TASK` (with the arch when one was asked for), as messages name it. */
export function describeTask(wanted: RecipeTask): string {
  const arch = wanted.arch ? ` (arch ${wanted.arch})` : "";
  return `${wanted.pn}:do_${wanted.task}${arch}`;
}

/**
 * Lists `cache` and picks the two most recent signatures of distinct hashes of the task (by
 * modification time, on remotes the upload time; of several files of one hash, the newest
 * counts). Fewer than two is an error naming what was found.
 */
export async function latestPair(
  cache: Backend,
  wanted: RecipeTask,
  out: Printer,
  signal: AbortSignal,
): Promise<LatestPair> {
  const onWarning = (message: string) => out.warn(message);
  const { artifacts } = await listArtifacts(cache, undefined, { signal, onWarning });
  const newest = new Map<string, Artifact>();
  for (const a of artifacts) {
    if (artifactKind(a.suffix) !== "siginfo" || a.pn !== wanted.pn || a.task !== wanted.task) {
      continue;
    }
    if (wanted.arch !== undefined && wanted.arch !== "" && a.arch !== wanted.arch) continue;
    const seen = newest.get(a.hash);
    if (!seen || later(a, seen)) newest.set(a.hash, a);
  }
  const found = [...newest.values()].sort((x, y) => (later(x, y) ? 1 : -1));
  const what = `${describeTask(wanted)} in ${cache.displayUrl}`;
  if (found.length === 0) throw new CommandError(`no signatures of ${what}`);
  if (found.length === 1) {
    throw new CommandError(
      `only one signature of ${what} (${found[0].path}): nothing to compare it with`,
    );
  }
  return { older: found.at(-2)!, newer: found.at(-1)!, artifacts };
}

/** Whether `x` is more recent than `y` (by time, then by path, so that the order is total). */
function later(x: Artifact, y: Artifact): boolean {
  return x.mtime !== y.mtime ? x.mtime > y.mtime : x.path > y.path;
}
