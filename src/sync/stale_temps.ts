/**
 * Leftovers of killed uploads: the temporary files a put writes before moving them into place
 * stay behind when the process is killed with SIGKILL. They are recognised by name; those of
 * this host whose process is gone can be removed at once, any other only when old enough that
 * no live upload can still be writing it.
 */
import { parseTempName } from "../backends/file/temp_name.ts";

/** How old another host's (or a live-looking process's) temporary file must be to go. */
export const STALE_TEMP_AGE_MS = 60 * 60 * 1000;

const HOST = Deno.hostname();

/** Whether a process of this host is still running (true where that cannot be told). */
function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch (err) {
    return !(err instanceof Deno.errors.NotFound) || !procMounted();
  }
}

let procChecked: boolean | undefined;
function procMounted(): boolean {
  return procChecked ??= (() => {
    try {
      return Deno.statSync(`/proc/${Deno.pid}`).isDirectory;
    } catch {
      return false;
    }
  })();
}

/** Whether `path` is a temporary file of an upload of this host whose process has ended. */
export function isOrphanedTemp(path: string): boolean {
  const owner = parseTempName(path);
  return owner !== null && owner.host === HOST && owner.pid !== Deno.pid &&
    !processAlive(owner.pid);
}

/** Whether `path` is a temporary upload file at least STALE_TEMP_AGE_MS old (or orphaned). */
export function isStaleTemp(path: string, mtime: number, now: number): boolean {
  if (parseTempName(path) === null) return false;
  return now - mtime >= STALE_TEMP_AGE_MS || isOrphanedTemp(path);
}
