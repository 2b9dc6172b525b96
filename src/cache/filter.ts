/** Selecting artifacts by recipe name (`--filter`, a regex matched at the start) and arch. */
import { InputError } from "./input_error.ts";

/** What a filter looks at. */
export interface Filterable {
  pn: string;
  arch: string;
}

/** A predicate over artifacts; `undefined` fields match everything. */
export type ArtifactFilter = (item: Filterable) => boolean;

/** Escapes Python knows after a backslash; any other ASCII letter is an error there. */
const PYTHON_ESCAPES = new Set("abBdDfnrsStvwWZAxuU");

/** Python's verbose mode (`(?x)`): whitespace and `#` comments outside classes are dropped. */
function stripVerbose(source: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "\\") {
      out += c + (source[i + 1] ?? "");
      i++;
    } else if (inClass) {
      out += c;
      if (c === "]") inClass = false;
    } else if (c === "[") {
      inClass = true;
      out += c;
    } else if (c === "#") {
      while (i < source.length && source[i] !== "\n") i++;
    } else if (!/\s/.test(c)) out += c;
  }
  return out;
}

/** One escape sequence `\X…` at `i` of `rest` in JavaScript spelling, and its length. */
function translateEscape(rest: string, i: number): [string, number] {
  const next = rest[i + 1] ?? "";
  if (/[A-Za-z]/.test(next) && !PYTHON_ESCAPES.has(next)) {
    throw new Error(`bad escape \\${next}`);
  }
  if (next === "A") return ["^", 2];
  if (next === "Z") return ["(?![\\s\\S])", 2];
  if (next === "a") return ["\\x07", 2];
  if (next === "U") {
    const hex = /^[0-9a-fA-F]{8}/.exec(rest.slice(i + 2))?.[0];
    if (!hex) throw new Error("incomplete escape \\U");
    const char = String.fromCodePoint(parseInt(hex, 16));
    return [char.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&"), 10];
  }
  return ["\\" + next, 2];
}

/**
 * Translates Python `re` syntax that JavaScript spells differently: `(?P<n>…)`, `(?P=n)`, `\A`,
 * `\Z`, `\a`, `\UXXXXXXXX`, `{,n}`, `(?#comment)` and leading global flags: `(?i)`, `(?m)`,
 * `(?s)` become JavaScript flags, `(?x)` is applied, `(?u)` and `(?a)` change nothing a recipe
 * name can tell. Throws where Python would (unknown escapes such as `\p`, `(?L)` on text).
 */
export function fromPythonRegex(source: string): { pattern: string; flags: string } {
  let flags = "";
  let rest = source;
  const global = /^\(\?([aiLmsux]+)\)/.exec(rest);
  if (global) {
    rest = rest.slice(global[0].length);
    for (const f of global[1]) {
      if (f === "L") throw new Error("cannot use LOCALE flag (?L) with a str pattern");
      if (f === "x") rest = stripVerbose(rest);
      else if ("ims".includes(f) && !flags.includes(f)) flags += f;
    }
  }
  let out = "";
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    const ahead = rest.slice(i);
    if (c === "\\") {
      const [text, length] = translateEscape(rest, i);
      out += text;
      i += length - 1;
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
 * and `--arch ARCH` (exact SSTATE_PKGARCH); empty values select everything. Throws an InputError for an invalid regex.
 */
export function makeFilter(pnRegex?: string, arch?: string): ArtifactFilter {
  // An empty value selects nothing out, as in the Python tool (a CI line `--arch "$ARCH"`).
  if (arch === "") arch = undefined;
  let pn: RegExp | undefined;
  if (pnRegex !== undefined && pnRegex !== "") {
    try {
      const { pattern, flags } = fromPythonRegex(pnRegex);
      pn = new RegExp(`^(?:${pattern})`, flags);
    } catch (err) {
      throw new InputError(`invalid --filter regex '${pnRegex}': ${(err as Error).message}`);
    }
  }
  return (item) =>
    (pn === undefined || pn.test(item.pn)) && (arch === undefined || item.arch === arch);
}
