/**
 * The synchronous step behind every `file://` put: the native way (an unnamed file given its
 * name at the end) where it works, else a copy to a temporary name next to the final name, a
 * size check and a move into place (replacing, or create-only). Runs on the copy workers, and
 * in-process where workers cannot start.
 */
import { nativePlace } from "./native_place.ts";
import type { CancelCheck, PlaceJob, PlaceOutcome } from "./place_job.ts";

/** Errors of `link` that mean "this filesystem has no hard links", not "the target exists". */
const NO_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "EXDEV", "EMLINK", "ENOSYS"]);

function codeOf(err: unknown): string | undefined {
  return (err as { code?: string }).code;
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // never created, or already moved into place
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Moves the complete temporary file to its final name without replacing an existing one. */
function linkIntoPlace(temp: string, target: string): PlaceOutcome {
  try {
    Deno.linkSync(temp, target);
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) {
      if (Deno.lstatSync(target).isDirectory) throw new Error(`${target} is a directory`);
      return "exists";
    }
    if (!NO_LINKS.has(codeOf(err) ?? "")) throw err;
    // No hard links here (some network filesystems): the best a rename can do.
    if (exists(target)) return "exists";
    Deno.renameSync(temp, target);
    return "stored";
  }
  return "stored";
}

/**
 * Places one file: the fast native way where it works (unless `native` is false), else through
 * a named temporary file. `madeDirs` remembers the directories known to exist (each is created
 * once); `check` is asked before the copy, and before the file is moved into place the job is
 * cancelled or committed (see `CancelCheck`).
 * Never leaves a temporary file behind.
 */
export function placeFile(
  job: PlaceJob,
  madeDirs: Set<string>,
  check: CancelCheck,
  native = true,
): PlaceOutcome {
  if (check.cancelled()) return "cancelled";
  if (native) {
    const outcome = nativePlace(job, madeDirs, check);
    if (outcome !== "unsupported") return outcome;
  }
  const dir = job.target.slice(0, job.target.lastIndexOf("/"));
  try {
    if (!madeDirs.has(dir)) {
      Deno.mkdirSync(dir, { recursive: true });
      madeDirs.add(dir);
    }
    try {
      Deno.copyFileSync(job.source, job.temp);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound) || !exists(job.source)) throw err;
      // The directory was pruned by a concurrent clean: create it again, once.
      Deno.mkdirSync(dir, { recursive: true });
      Deno.copyFileSync(job.source, job.temp);
    }
    const size = Deno.statSync(job.temp).size;
    if (size !== job.size) {
      throw Object.assign(new Error(`size changed: expected ${job.size} bytes, copied ${size}`), {
        code: "ESIZE",
      });
    }
    if (check.cancelledOrCommit()) {
      removeQuietly(job.temp);
      return "cancelled";
    }
    if (!job.exclusive) {
      Deno.renameSync(job.temp, job.target);
      return "stored";
    }
    const outcome = linkIntoPlace(job.temp, job.target);
    removeQuietly(job.temp);
    return outcome;
  } catch (err) {
    removeQuietly(job.temp);
    throw err;
  }
}
