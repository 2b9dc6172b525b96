/** Text renderings of changed values, as bitbake prints them when comparing signatures. */

import difflib from "difflib";
import type { Colors } from "./colors.ts";
import { simpleDiff } from "./simplediff.ts";

// Line boundaries of Python's str.splitlines() (the control characters are intended).
// deno-lint-ignore no-control-regex
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;
// Characters Python's str.split() (no argument) splits on.
const PY_WHITESPACE =
  // deno-lint-ignore no-control-regex
  /[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** Python's `str.splitlines()`: no empty last line for a trailing line break. */
function splitLines(text: string): string[] {
  const lines = text.split(LINE_BREAK);
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** `' '.join(text.split())`: words separated by single spaces. */
function normalizeSpace(text: string): string {
  return text.split(PY_WHITESPACE).filter((word) => word !== "").join(" ");
}

/** Hunks of a unified diff of two multi-line values (without the `---`/`+++` header lines). */
export function unifiedDiffLines(before: string, after: string, c: Colors): string[] {
  const lines: string[] = difflib.unifiedDiff(splitLines(before), splitLines(after), {
    lineterm: "",
  }).slice(2);
  return lines.map((line) => {
    if (line.startsWith("+")) return `${c.add}${line}${c.reset}`;
    if (line.startsWith("-")) return `${c.remove}${line}${c.reset}`;
    return line;
  });
}

/** Word diff of two space-separated values: `"kept [-removed-] {+added+}"`. */
export function wordDiff(before: string, after: string, c: Colors): string {
  const words = simpleDiff(before.split(" "), after.split(" ")).map(([op, items]) => {
    const text = items.join(" ");
    if (op === "+") return `${c.add}{+${text}+}${c.reset}`;
    if (op === "-") return `${c.remove}[-${text}-]${c.reset}`;
    return text;
  });
  const note = before !== after && normalizeSpace(before) === normalizeSpace(after)
    ? " (whitespace changed)"
    : "";
  return `"${words.join(" ")}"${note}`;
}

/**
 * Inline diff of two lists: kept runs quoted (a run of several items in one pair of quotes, as
 * bitbake prints it), added items as `+item`, removed ones as `-item`.
 */
export function listInlineDiff(before: string[], after: string[], c: Colors): string {
  const items = simpleDiff(before, after).map(([op, run]) => {
    const text = run.join(" ");
    if (op === "+") return `${c.add}+${text}${c.reset}`;
    if (op === "-") return `${c.remove}-${text}${c.reset}`;
    return `'${text}'`;
  });
  return `[${items.join(", ")}]`;
}
