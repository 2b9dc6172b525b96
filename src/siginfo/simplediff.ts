/**
 * The sequence diff bitbake uses for word and list diffs (the `simplediff` Python module): find the
 * longest common run of items, keep it, and recurse on what lies before and after it.
 */

/** A run of items that is unchanged (`=`), only in the new sequence (`+`) or only in the old (`-`). */
export type DiffOp = ["=" | "+" | "-", string[]];

/** Diff of two sequences as runs of kept, added and removed items, in output order. */
export function simpleDiff(before: readonly string[], after: readonly string[]): DiffOp[] {
  const positions = new Map<string, number[]>();
  before.forEach((item, i) => {
    const list = positions.get(item);
    if (list) list.push(i);
    else positions.set(item, [i]);
  });

  // Longest common run; ties go to the first one found (earliest in `after`, then in `before`).
  let runBefore = 0;
  let runAfter = 0;
  let runLength = 0;
  let previous = new Map<number, number>();
  after.forEach((item, j) => {
    const current = new Map<number, number>();
    for (const i of positions.get(item) ?? []) {
      const length = (i > 0 ? previous.get(i - 1) ?? 0 : 0) + 1;
      current.set(i, length);
      if (length > runLength) {
        runLength = length;
        runBefore = i - length + 1;
        runAfter = j - length + 1;
      }
    }
    previous = current;
  });

  if (runLength === 0) {
    const ops: DiffOp[] = [];
    if (before.length) ops.push(["-", [...before]]);
    if (after.length) ops.push(["+", [...after]]);
    return ops;
  }
  return [
    ...simpleDiff(before.slice(0, runBefore), after.slice(0, runAfter)),
    ["=", after.slice(runAfter, runAfter + runLength)],
    ...simpleDiff(before.slice(runBefore + runLength), after.slice(runAfter + runLength)),
  ];
}
