/**
 * Names of the temporary files a `file://` put writes next to the final name: hidden, clearly
 * not artifacts, and saying who wrote them, so leftovers of a killed upload can be recognised
 * and removed (`.NAME.isar-sstate.HOST.PID.N.tmp`).
 */

/** Who wrote a temporary file, and which file it was going to become. */
export interface TempOwner {
  /** The cache-relative path the file was going to be stored at. */
  finalPath: string;
  host: string;
  pid: number;
}

const TEMP_PATTERN = /^(.*\/)?\.(.+)\.isar-sstate\.([^/]+)\.(\d+)\.\d+\.tmp$/;

/** The temporary name for `finalPath` (any path form) written by `host`/`pid`, `n`-th of it. */
export function tempNameFor(finalPath: string, host: string, pid: number, n: number): string {
  const slash = finalPath.lastIndexOf("/");
  const [dir, name] = [finalPath.slice(0, slash + 1), finalPath.slice(slash + 1)];
  return `${dir}.${name}.isar-sstate.${host}.${pid}.${n}.tmp`;
}

/** Parses a path written by tempNameFor; null for anything else. */
export function parseTempName(path: string): TempOwner | null {
  const m = TEMP_PATTERN.exec(path);
  if (!m) return null;
  return { finalPath: `${m[1] ?? ""}${m[2]}`, host: m[3], pid: Number(m[4]) };
}
