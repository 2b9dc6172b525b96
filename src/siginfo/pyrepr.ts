/** Python `repr()` / `str()` text for the values bitbake prints from signature files. */

import { pythonSort } from "./hash.ts";

// Characters Python's str.isprintable() rejects (besides the ASCII space, which is printable).
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;
const SIMPLE_ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  "\t": "\\t",
  "\n": "\\n",
  "\r": "\\r",
};

function escapeChar(ch: string): string {
  const code = ch.codePointAt(0)!;
  if (code < 0x100) return "\\x" + code.toString(16).padStart(2, "0");
  if (code < 0x10000) return "\\u" + code.toString(16).padStart(4, "0");
  return "\\U" + code.toString(16).padStart(8, "0");
}

/** `repr(s)` of a Python str: single quotes unless the text has `'` but no `"`. */
function reprStr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === quote) out += "\\" + ch;
    else if (ch in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[ch];
    else if (ch !== " " && NON_PRINTABLE.test(ch)) out += escapeChar(ch);
    else out += ch;
  }
  return out + quote;
}

/** `str(v)` for a str or None: the text itself, or `None`. */
export function strOrNone(v: string | null | undefined): string {
  return v ?? "None";
}

/** `repr()` of a str or None. */
function reprOptional(v: string | null): string {
  return v === null ? "None" : reprStr(v);
}

/** `repr()` of a list of strings, in the given order. */
export function reprList(items: readonly string[]): string {
  return `[${items.map(reprStr).join(", ")}]`;
}

/**
 * `repr()` of a set (or frozenset) of strings. Python prints sets in hash order, which varies
 * between runs; the items are printed sorted here.
 */
export function reprSet(items: Iterable<string>, frozen: boolean): string {
  const sorted = pythonSort(items);
  if (sorted.length === 0) return frozen ? "frozenset()" : "set()";
  const body = `{${sorted.map(reprStr).join(", ")}}`;
  return frozen ? `frozenset(${body})` : body;
}

/** `repr()` of a list of (str, str-or-None) pairs, each printed as a tuple or as a list. */
export function reprPairs(
  pairs: readonly (readonly [string, string | null])[],
  asTuples: boolean,
): string {
  const [open, close] = asTuples ? ["(", ")"] : ["[", "]"];
  return `[${
    pairs.map(([a, b]) => `${open}${reprStr(a)}, ${reprOptional(b)}${close}`).join(", ")
  }]`;
}
