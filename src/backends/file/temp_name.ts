/**
 * Names of the temporary files a `file://` put writes next to the final name: hidden, clearly
 * not artifacts, and saying who wrote them (`.NAME.isar-sstate.HOST.PID.N.tmp`), so that those a
 * killed upload left behind are recognised: a process of this host that is gone leaves orphans,
 * which may go at once; any other only when old enough that no live upload still writes it.
 */
import type { Entry, Leftover } from "../backend.ts";

/** Who wrote a temporary file. */
export interface TempOwner {
  host: string;
  pid: number;
}

const TEMP_PATTERN = /^(?:.*\/)?\..+\.isar-sstate\.([^/]+)\.(\d+)\.\d+\.tmp$/;

/** This host's name, as temporary names carry it. */
export const HOST = Deno.hostname();

/** The temporary name for `finalPath` (any path form) written by `host`/`pid`, `n`-th of it. */
export function tempNameFor(finalPath: string, host: string, pid: number, n: number): string {
  const slash = finalPath.lastIndexOf("/");
  const [dir, name] = [finalPath.slice(0, slash + 1), finalPath.slice(slash + 1)];
  return `${dir}.${name}.isar-sstate.${host}.${pid}.${n}.tmp`;
}

/** Parses a path written by tempNameFor; null for anything else. */
export function parseTempName(path: string): TempOwner | null {
  const m = TEMP_PATTERN.exec(path);
  return m ? { host: m[1], pid: Number(m[2]) } : null;
}

/** The temporary files among `entries`, each orphaned if its writer is gone. */
export function tempFilesAmong(entries: Iterable<Entry>): Leftover[] {
  const found: Leftover[] = [];
  for (const { path, size, mtime } of entries) {
    const owner = path.endsWith(".tmp") ? parseTempName(path) : null;
    if (owner) found.push({ path, size, started: mtime, orphaned: isOrphan(owner) });
  }
  return found;
}

/** Whether the writer was a process of this host (not this one) that has ended. */
function isOrphan(owner: TempOwner): boolean {
  return owner.host === HOST && owner.pid !== Deno.pid && !processAlive(owner.pid);
}

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
