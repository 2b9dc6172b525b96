/** Selecting artifacts by recipe name (`--filter`, a regex matched at the start) and arch. */
import { CliError } from "../cli/errors.ts";

/** What a filter looks at. */
export interface Filterable {
  pn: string;
  arch: string;
}

/** A predicate over artifacts; `undefined` fields match everything. */
export type ArtifactFilter = (item: Filterable) => boolean;

/**
 * Translates Python `re` syntax that JavaScript spells differently: `(?P<n>…)`, `(?P=n)`, `\A`,
 * `\Z`, `{,n}`, `(?#comment)` and leading global flags `(?i)`, `(?m)`, `(?s)`. Throws for flags
 * that have no JavaScript equivalent, rather than matching something else.
 */
export function fromPythonRegex(source: string): { pattern: string; flags: string } {
  let flags = "";
  let rest = source;
  const global = /^\(\?([aiLmsux]+)\)/.exec(rest);
  if (global) {
    for (const f of global[1]) {
      if (!"ims".includes(f)) throw new Error(`the Python flag (?${f}) is not supported`);
      if (!flags.includes(f)) flags += f;
    }
    rest = rest.slice(global[0].length);
  }
  let out = "";
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    const ahead = rest.slice(i);
    if (c === "\\") {
      const next = rest[i + 1] ?? "";
      out += next === "A" ? "^" : next === "Z" ? "(?![\\s\\S])" : c + next;
      i++;
    } else if (ahead.startsWith("(?P<")) {
      out += "(?<";
      i += 3;
    } else if (ahead.startsWith("(?P=")) {
      const end = rest.indexOf(")", i);
      if (end < 0) throw new Error("unterminated (?P=name)");
      out += `\\k<${rest.slice(i + 4, end)}>`;
      i = end;
    } else if (ahead.startsWith("(?#")) {
      i = rest.indexOf(")", i);
      if (i < 0) throw new Error("unterminated comment");
    } else if (/^\{,\d+\}/.test(ahead)) {
      out += "{0,";
      i++;
    } else out += c;
  }
  return { pattern: out, flags };
}

/**
 * Builds the filter for `--filter REGEX` (Python `re.match` on PN: anchored at the start only)
 * and `--arch ARCH` (exact SSTATE_PKGARCH). Throws a CliError for an invalid regex.
 */
export function makeFilter(pnRegex?: string, arch?: string): ArtifactFilter {
  let pn: RegExp | undefined;
  if (pnRegex !== undefined) {
    try {
      const { pattern, flags } = fromPythonRegex(pnRegex);
      pn = new RegExp(`^(?:${pattern})`, flags);
    } catch (err) {
      throw new CliError(`invalid --filter regex '${pnRegex}': ${(err as Error).message}`);
    }
  }
  return (item) =>
    (pn === undefined || pn.test(item.pn)) && (arch === undefined || item.arch === arch);
}
