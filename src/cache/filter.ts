/** Selecting artifacts by recipe name (`--filter`, a regex matched at the start) and arch. */
import { CliError } from "../cli/errors.ts";

/** What a filter looks at. */
export interface Filterable {
  pn: string;
  arch: string;
}

/** A predicate over artifacts; `undefined` fields match everything. */
export type ArtifactFilter = (item: Filterable) => boolean;

/** Translates the Python-only regex syntax that has a JavaScript equivalent. */
function fromPythonRegex(source: string): string {
  return source.replace(/\(\?P</g, "(?<").replace(/\(\?P=(\w+)\)/g, "\\k<$1>");
}

/**
 * Builds the filter for `--filter REGEX` (Python `re.match` on PN: anchored at the start only)
 * and `--arch ARCH` (exact SSTATE_PKGARCH). Throws a CliError for an invalid regex.
 */
export function makeFilter(pnRegex?: string, arch?: string): ArtifactFilter {
  let pn: RegExp | undefined;
  if (pnRegex !== undefined) {
    try {
      pn = new RegExp(`^(?:${fromPythonRegex(pnRegex)})`);
    } catch (err) {
      throw new CliError(`invalid --filter regex '${pnRegex}': ${(err as Error).message}`);
    }
  }
  return (item) =>
    (pn === undefined || pn.test(item.pn)) && (arch === undefined || item.arch === arch);
}
