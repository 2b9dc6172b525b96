/**
 * Signature data in a bitbake stamps directory (`${TMPDIR}/stamps`):
 * `[…/]<DISTRO>-<DISTRO_ARCH>/<PN>/<PV>-<PR>.do_<TASK>.sigdata.<HASH>`.
 */

/** The fields of a stamps-directory signature path. */
export interface StampName {
  /** The directory above the recipe's, e.g. `debian-bookworm-arm64`. */
  arch: string;
  pn: string;
  /** Task name without `do_`. */
  task: string;
  hash: string;
}

// Like the reference's pattern, but anchored at the end: `….sigdata.<hash>.tmp` is not a signature.
const STAMP_PATTERN = /^(?:.*\/)?([^/]+)\/([^/]+)\/[^/]+\.do_([^/]+)\.sigdata\.([0-9a-f]{64})$/;

/** Parses a path relative to the stamps directory; null when it is not a `.sigdata.` file. */
export function parseStampName(path: string): StampName | null {
  const m = STAMP_PATTERN.exec(path);
  return m ? { arch: m[1], pn: m[2], task: m[3], hash: m[4] } : null;
}

/** The hash a stamp file names: `….sigdata.HASH` or `…_setscene.HASH[.…]` (OE's --stamps-dir). */
const STAMP_HASH = /(?:\.sigdata|_setscene)\.([0-9a-f]{32,64})(?:\.[^/]*)?$/;

/** The hash that a stamps directory's file name names, or null. */
export function stampHash(name: string): string | null {
  return STAMP_HASH.exec(name)?.[1] ?? null;
}
