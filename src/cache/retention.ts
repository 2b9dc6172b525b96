/**
 * Which artifacts `clean` deletes, and why: by last use (the later of a file's modification time
 * and its recorded use), OE's policies (artifacts named by stamps directories are kept, only the
 * newest versions of each recipe/arch/task are kept), and a size quota filled least recently used
 * first. Siginfo files and detached signatures follow their archive. A cache whose files were
 * never marked used is cleaned by modification time, exactly as before.
 */
import type { Entry } from "../backends/backend.ts";
import { archivePathOf, type Artifact, artifactKind } from "./artifact.ts";

/** A file's last use in ms since the epoch: the later of its mtime and its recorded use. */
export function lastUseOf(entry: Entry): number {
  return Math.max(entry.mtime, entry.lastUsed ?? 0);
}

/** The rules of one clean. Ages are in seconds. */
export interface RetentionRules {
  maxAge: number;
  /** At least `maxAge`. */
  maxSigAge: number;
  /** Hashes never deleted (named by stamps directories). */
  keepHashes?: ReadonlySet<string>;
  /** Keep only this many most recently used archives of each recipe/arch/task. */
  keepNewest?: number;
  /** Delete least recently used archives until the artifacts take at most this many bytes. */
  maxSize?: number;
}

/** Why a file goes, in the order a dry run lists them. */
export type Reason =
  | "age"
  | "older version"
  | "size quota"
  | "with its archive"
  | "siginfo age"
  | "signature age";

export const REASONS: readonly Reason[] = [
  "age",
  "older version",
  "size quota",
  "with its archive",
  "siginfo age",
  "signature age",
];

/** What a clean deletes, by reason; counts for the reference's lines. */
export interface RetentionPlan {
  archives: Artifact[];
  siginfo: Artifact[];
  /** Archives to delete, each with its reason, in the order of REASONS. */
  deleteArchives: Artifact[];
  /** Siginfo files and signatures to delete. */
  deleteOthers: Artifact[];
  reasons: Map<Artifact, Reason>;
  /** Archives (and their files) kept because a stamps directory names their hash. */
  keptByStamps: number;
  /** Bytes of the artifacts left after the clean. */
  bytesLeft: number;
}

const byPath = (a: Artifact, b: Artifact) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** Plans a clean of `artifacts` at time `now` (ms). */
export function planRetention(
  artifacts: readonly Artifact[],
  rules: RetentionRules,
  now: number,
): RetentionPlan {
  const age = (a: Artifact) => Math.floor((now - lastUseOf(a)) / 1000);
  const kept = (a: Artifact) => rules.keepHashes?.has(a.hash) ?? false;
  const archives = artifacts.filter((a) => artifactKind(a.suffix) === "archive");
  const siginfo = artifacts.filter((a) => artifactKind(a.suffix) === "siginfo");
  const signatures = artifacts.filter((a) => artifactKind(a.suffix) === "signature");
  const reasons = new Map<Artifact, Reason>();
  const doom = (a: Artifact, reason: Reason) => {
    if (!reasons.has(a) && !kept(a)) reasons.set(a, reason);
  };

  for (const a of archives) if (age(a) >= rules.maxAge) doom(a, "age");
  if (rules.keepNewest !== undefined) {
    const groups = new Map<string, Artifact[]>();
    for (const a of archives) {
      const key = `${a.pn}\0${a.arch}\0${a.task}`;
      const group = groups.get(key);
      if (group) group.push(a);
      else groups.set(key, [a]);
    }
    for (const group of groups.values()) {
      group.sort((a, b) => lastUseOf(b) - lastUseOf(a) || byPath(a, b));
      for (const a of group.slice(rules.keepNewest)) doom(a, "older version");
    }
  }

  // Each archive with its siginfo and signature: what the size quota deletes as one.
  const followers = new Map<string, Artifact[]>();
  for (const a of [...siginfo, ...signatures]) {
    const key = archivePathOf(a);
    const list = followers.get(key);
    if (list) list.push(a);
    else followers.set(key, [a]);
  }
  const goneArchives = () => new Set(archives.filter((a) => reasons.has(a)).map((a) => a.path));
  let gone = goneArchives();
  const followerReason = (a: Artifact): Reason | null => {
    if (gone.has(archivePathOf(a))) return "with its archive";
    if (artifactKind(a.suffix) === "siginfo") {
      return age(a) >= rules.maxSigAge ? "siginfo age" : null;
    }
    return age(a) >= rules.maxAge ? "signature age" : null;
  };

  if (rules.maxSize !== undefined) {
    const left = (a: Artifact) => !reasons.has(a) && followerReason(a) === null;
    let bytes = 0;
    for (const a of artifacts) if (!reasons.has(a) && (kept(a) || left(a))) bytes += a.size;
    // Units of the quota: an archive with its followers, or a siginfo/signature on its own.
    const archivePaths = new Set(archives.map((a) => a.path));
    const units: { use: number; path: string; files: Artifact[] }[] = [];
    for (const a of archives) {
      if (reasons.has(a) || kept(a)) continue;
      const files = [a, ...(followers.get(a.path) ?? []).filter(left)];
      units.push({ use: lastUseOf(a), path: a.path, files });
    }
    for (const a of [...siginfo, ...signatures]) {
      if (archivePaths.has(archivePathOf(a)) || kept(a) || !left(a)) continue;
      units.push({ use: lastUseOf(a), path: a.path, files: [a] });
    }
    units.sort((a, b) => a.use - b.use || (a.path < b.path ? -1 : 1));
    for (const unit of units) {
      if (bytes <= rules.maxSize) break;
      for (const f of unit.files) {
        reasons.set(f, "size quota");
        bytes -= f.size;
      }
    }
    gone = goneArchives();
  }

  for (const a of [...siginfo, ...signatures]) {
    const reason = followerReason(a);
    if (reason) doom(a, reason);
  }
  const order = (a: Artifact, b: Artifact) =>
    REASONS.indexOf(reasons.get(a)!) - REASONS.indexOf(reasons.get(b)!);
  const deleteArchives = archives.filter((a) => reasons.has(a)).sort(order);
  const deleteOthers = [...siginfo, ...signatures].filter((a) => reasons.has(a)).sort(order);
  let bytesLeft = 0;
  for (const a of artifacts) if (!reasons.has(a)) bytesLeft += a.size;
  return {
    archives,
    siginfo,
    deleteArchives,
    deleteOthers,
    reasons,
    keptByStamps: archives.filter(kept).length,
    bytesLeft,
  };
}
