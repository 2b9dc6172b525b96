/**
 * Helpers for the siginfo tests: the fixture pairs in this folder and a comparison against
 * bitbake's recorded output that tolerates Python's run-to-run set order where the fixture
 * lists it (`*.setlines`).
 */

import { AssertionError } from "node:assert";

/** This folder. */
export const SIGINFO_DATA = new URL(".", import.meta.url).pathname;

/** The fixture pairs, as `head/<pair>` and `2022/<pair>`, sorted. */
export function fixturePairs(): string[] {
  const pairs: string[] = [];
  for (const version of ["head", "2022"]) {
    for (const entry of Deno.readDirSync(`${SIGINFO_DATA}${version}`)) {
      if (entry.isDirectory) pairs.push(`${version}/${entry.name}`);
    }
  }
  return pairs.sort();
}

/** Line numbers (1-based) that `<file>.setlines` names, if that file exists. */
function setLineNumbers(file: string): Set<number> {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${file}.setlines`);
  } catch {
    return new Set();
  }
  return new Set([...text.matchAll(/^(\d+): /gm)].map((m) => Number(m[1])));
}

/** The line with the items of every `{'a', 'b'}` set repr sorted. */
function sortSetItems(line: string): string {
  return line.replace(
    /\{('[^']*'(?:, '[^']*')*)\}/g,
    (_, items: string) => `{${items.split(", ").sort().join(", ")}}`,
  );
}

/**
 * Asserts that `entries`, printed one per line as bitbake does, equal the recorded output in
 * `file`. Lines named in `file.setlines` are compared as a group, ignoring their order and the
 * order of set items in them; all other lines must match exactly and in place.
 */
export function assertMatchesGolden(entries: string[], file: string): void {
  const expected = Deno.readTextFileSync(file);
  const actual = entries.length ? entries.join("\n") + "\n" : "";
  const setLines = setLineNumbers(file);
  if (setLines.size === 0) {
    if (actual !== expected) {
      throw new AssertionError({ message: `output differs from ${file}`, actual, expected });
    }
    return;
  }
  const want = expected.split("\n");
  const got = actual.split("\n");
  if (want.length !== got.length) {
    throw new AssertionError({ message: `line count differs from ${file}`, actual, expected });
  }
  const looseWant: string[] = [];
  const looseGot: string[] = [];
  want.forEach((line, i) => {
    if (setLines.has(i + 1)) {
      looseWant.push(sortSetItems(line));
      looseGot.push(sortSetItems(got[i]));
    } else if (line !== got[i]) {
      throw new AssertionError({
        message: `line ${i + 1} differs from ${file}`,
        actual: got[i],
        expected: line,
      });
    }
  });
  looseWant.sort();
  looseGot.sort();
  if (looseWant.join("\n") !== looseGot.join("\n")) {
    throw new AssertionError({
      message: `set-order lines differ from ${file}`,
      actual: looseGot.join("\n"),
      expected: looseWant.join("\n"),
    });
  }
}
