/**
 * Sstate artifact naming: which files in a cache are artifacts, and what their names say.
 *
 * `[NATIVELSBSTRING/]HH/hh/sstate:<PN>:<PACKAGE_ARCH><VENDOR>-<OS>:<PV>:<PR>:<SSTATE_PKGARCH>:
 * <SSTATE_VERSION>:<HASH>_<TASK>.<SUFFIX>`
 */
import type { Entry } from "../backends/backend.ts";

/** The fields of an sstate file name. */
export interface ArtifactName {
  pn: string;
  /** The SSTATE_PKGARCH field (empty for arch-less "software" specs). */
  arch: string;
  hash: string;
  task: string;
  suffix: ArtifactSuffix;
}

/** An artifact as found in a cache: a listed file whose name parsed. */
export interface Artifact extends ArtifactName, Entry {}

/** The file suffixes bitbake gives real artifacts; anything else is not ours to touch. */
export const ARTIFACT_SUFFIXES = [
  "tgz",
  "tgz.siginfo",
  "tgz.sig",
  "tar.zst",
  "tar.zst.siginfo",
  "tar.zst.sig",
] as const;
export type ArtifactSuffix = typeof ARTIFACT_SUFFIXES[number];

/** The kind of file an artifact is. */
export type ArtifactKind = "archive" | "siginfo" | "signature";

const NAME_PATTERN = /^sstate:([^:]*):[^:]*:[^:]*:[^:]*:([^:]*):[^:]*:([0-9a-f]*)_([^.]*)\.(.*)$/;

const SUFFIXES: ReadonlySet<string> = new Set(ARTIFACT_SUFFIXES);

/** Parses a path (or bare file name); null when it is not an sstate artifact. */
export function parseArtifactName(path: string): ArtifactName | null {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const m = NAME_PATTERN.exec(name);
  if (!m || !SUFFIXES.has(m[5])) return null;
  return { pn: m[1], arch: m[2], hash: m[3], task: m[4], suffix: m[5] as ArtifactSuffix };
}

/** Archive, siginfo or detached signature. */
export function artifactKind(suffix: ArtifactSuffix): ArtifactKind {
  if (suffix.endsWith(".siginfo")) return "siginfo";
  if (suffix.endsWith(".sig")) return "signature";
  return "archive";
}

/** The path of the archive a siginfo or signature belongs to (an archive's own path). */
export function archivePathOf(artifact: { path: string; suffix: ArtifactSuffix }): string {
  const kind = artifactKind(artifact.suffix);
  if (kind === "siginfo") return artifact.path.slice(0, -".siginfo".length);
  if (kind === "signature") return artifact.path.slice(0, -".sig".length);
  return artifact.path;
}

/** A file's last use in ms since the epoch: the later of its mtime and its recorded use. */
export function lastUseOf(entry: Entry): number {
  return Math.max(entry.mtime, entry.lastUsed ?? 0);
}
