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

/** Escapes that stand for a set of characters, which cannot end a range inside a class. */
const CLASS_ESCAPES = new Set("dDsSwW");

/** Escapes for a character code, as the `\x` and `\u` of Python need them: exact digit counts. */
function codeEscape(rest: string, i: number, letter: string, digits: number): [string, number] {
  const hex = new RegExp(`^[0-9a-fA-F]{${digits}}`).exec(rest.slice(i + 2))?.[0];
  if (!hex) throw new Error(`incomplete escape \\${letter}${rest.slice(i + 2, i + 2 + digits)}`);
  const char = String.fromCodePoint(parseInt(hex, 16));
  return [char.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&"), 2 + digits];
}

/** The number of capturing groups opened in `source` before index `end`. */
function groupsBefore(source: string, end: number): number {
  let count = 0;
  let inClass = false;
  for (let i = 0; i < end; i++) {
    const c = source[i];
    if (c === "\\") i++;
    else if (inClass) inClass = c !== "]";
    else if (c === "[") inClass = true;
    else if (c === "(" && (source[i + 1] !== "?" || source.startsWith("(?P<", i))) count++;
  }
  return count;
}

/** A backslash and digits: an octal character (`\0`, `\177`) or a group reference (`\1`). */
function digitEscape(rest: string, i: number): [string, number] {
  const octal = /^(0[0-7]{0,2}|[0-7]{3})/.exec(rest.slice(i + 1))?.[0];
  if (octal) {
    const code = parseInt(octal, 8);
    if (code > 0o377) throw new Error(`octal escape value \\${octal} outside of range 0-0o377`);
    return [`\\x${code.toString(16).padStart(2, "0")}`, 1 + octal.length];
  }
  const ref = /^\d{1,2}/.exec(rest.slice(i + 1))![0];
  if (Number(ref) > groupsBefore(rest, i)) throw new Error(`invalid group reference ${ref}`);
  return [`\\${ref}`, 1 + ref.length];
}

/** One escape sequence `\X…` at `i` of `rest` in JavaScript spelling, and its length. */
function translateEscape(rest: string, i: number): [string, number] {
  const next = rest[i + 1] ?? "";
  if (next === "N") throw new Error("named characters (\\N{...}) are not supported here");
  if (/[A-Za-z]/.test(next) && !PYTHON_ESCAPES.has(next)) {
    throw new Error(`bad escape \\${next}`);
  }
  if (next === "A") return ["^", 2];
  if (next === "Z") return ["(?![\\s\\S])", 2];
  if (next === "a") return ["\\x07", 2];
  if (next === "x") return codeEscape(rest, i, "x", 2);
  if (next === "u") return codeEscape(rest, i, "u", 4);
  if (next === "U") return codeEscape(rest, i, "U", 8);
  if (/\d/.test(next)) return digitEscape(rest, i);
  return ["\\" + next, 2];
}

/** Python refuses a range with a set escape at either end (`[a-\d]`); JavaScript reads a `-`. */
function checkRange(rest: string, dash: number): void {
  const setEscape = (t: string) => t[0] === "\\" && CLASS_ESCAPES.has(t[1]);
  const before = rest.slice(Math.max(0, dash - 2), dash);
  const after = rest.slice(dash + 1, dash + 3);
  const first = rest[dash - 1] === "[" || before === "[^";
  if (first || rest[dash + 1] === "]" || !(setEscape(before) || setEscape(after))) return;
  const left = setEscape(before) ? before : rest[dash - 1];
  const right = setEscape(after) ? after : rest[dash + 1];
  throw new Error(`bad character range ${left}-${right}`);
}

/**
 * Translates Python `re` syntax that JavaScript spells differently: `(?P<n>…)`, `(?P=n)`, `\A`,
 * `\Z`, `\a`, `\UXXXXXXXX`, octal escapes, `{,n}`, `(?#comment)` and leading global flags:
 * `(?i)`, `(?m)`, `(?s)` become JavaScript flags, `(?x)` is applied, `(?u)` and `(?a)` change
 * nothing a recipe name can tell. Throws where Python would (unknown escapes such as `\p`,
 * `(?L)` on text, `(?<name>…)`, `\x4`, references to groups that do not exist, `[a-\d]`).
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
  let inClass = false;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    const ahead = rest.slice(i);
    if (c === "\\") {
      const [text, length] = translateEscape(rest, i);
      out += text;
      i += length - 1;
    } else if (inClass) {
      if (c === "-") checkRange(rest, i);
      if (c === "]") inClass = false;
      out += c;
    } else if (c === "[") {
      inClass = true;
      out += c;
      // A `]` right after `[` or `[^` is a literal member, as in Python.
      const literal = /^\[\^?\]/.exec(ahead)?.[0];
      if (literal) {
        out += literal.slice(1, -1) + "\\]";
        i += literal.length - 1;
      }
    } else if (ahead.startsWith("(?P<")) {
      out += "(?<";
      i += 3;
    } else if (/^\(\?<[^=!]/.test(ahead)) {
      throw new Error(`unknown extension ?<${ahead[3]}`);
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
