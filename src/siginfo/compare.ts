/** Differences between two signatures, worded like bitbake's `compare_sigfiles`. */

import { type Colors, colors } from "./colors.ts";
import { pythonSort } from "./hash.ts";
import { reprList, reprSet, strOrNone } from "./pyrepr.ts";
import { cleanBasepath, showTaint } from "./display.ts";
import { listInlineDiff, unifiedDiffLines, wordDiff } from "./textdiff.ts";
import type { SigInfo } from "./types.ts";

/** Options of `compareSigfiles`. */
export interface CompareOptions {
  /** Use bitbake's ANSI colours. */
  color?: boolean;
  /** Leave out the basehash, runtaskdeps and dependency-hash lines; keep all recursion output. */
  collapsed?: boolean;
  /**
   * Called for a dependency whose hash changed, with its task id and both hashes; returns the
   * comparison of the dependency's own signatures, or nothing when they cannot be found.
   */
  recurse?: (key: string, hashA: string, hashB: string) => Promise<string[]>;
}

/** Where bitbake 1.50 and 2.8 word or shape the comparison differently. */
interface Wording {
  ignoreVars: string;
  ignoreTasks: string;
  changedDep: string;
  /** 2.8 decodes sets from JSON as frozensets. */
  frozen: boolean;
  /** 1.50 stores recipe paths in task ids and shortens them for display. */
  taskId: (id: string) => string;
}

const BITBAKE_2_8: Wording = {
  ignoreVars: "basehash_ignore_vars",
  ignoreTasks: "taskhash_ignore_tasks",
  changedDep: "Hash for task dependency",
  frozen: true,
  taskId: (id) => id,
};

const BITBAKE_1_50: Wording = {
  ignoreVars: "basewhitelist",
  ignoreTasks: "taskwhitelist",
  changedDep: "Hash for dependent task",
  frozen: false,
  taskId: cleanBasepath,
};

interface KeyDiff {
  changed: string[];
  added: string[];
  removed: string[];
}

/**
 * Keys whose values differ (unless in `ignored`), keys only in `b` and keys only in `a`, each
 * sorted. Bitbake 1.50 walks these as Python sets, in an order that changes from run to run; the
 * sorted order is one of its possible orders and also decides which changed dependency the
 * recursion follows first.
 */
function keyDiff<T>(
  a: Record<string, T>,
  b: Record<string, T>,
  same: (x: T, y: T) => boolean,
  ignored: ReadonlySet<string> = new Set(),
): KeyDiff {
  const inA = Object.keys(a);
  const inB = new Set(Object.keys(b));
  return {
    changed: pythonSort(inA.filter((k) => inB.has(k) && !ignored.has(k) && !same(a[k], b[k]))),
    added: pythonSort([...inB].filter((k) => !Object.hasOwn(a, k))),
    removed: pythonSort(inA.filter((k) => !inB.has(k))),
  };
}

function sameSet(x: ReadonlySet<string>, y: ReadonlySet<string>): boolean {
  return x.size === y.size && [...x].every((item) => y.has(item));
}

function symmetricDifference(x: ReadonlySet<string>, y: ReadonlySet<string>): Set<string> {
  return new Set([...[...x].filter((i) => !y.has(i)), ...[...y].filter((i) => !x.has(i))]);
}

function sameList(x: readonly string[], y: readonly string[]): boolean {
  return x.length === y.length && x.every((item, i) => item === y[i]);
}

type Checksum = readonly [string, string | null];

/**
 * File checksum changes: a path whose checksum differs is "changed" (pairing removed and added
 * entries of the same path in order), other entries only in `b` are added, only in `a` removed.
 * Duplicated entries are counted, as bitbake does with a Counter.
 */
function checksumDiff(a: readonly Checksum[], b: readonly Checksum[]) {
  const key = (c: Checksum) => JSON.stringify(c);
  const surplus = (from: readonly Checksum[], minus: readonly Checksum[]) => {
    const count = new Map<string, number>();
    for (const c of from) count.set(key(c), (count.get(key(c)) ?? 0) + 1);
    for (const c of minus) count.set(key(c), (count.get(key(c)) ?? 0) - 1);
    return from.filter((c) => {
      const n = count.get(key(c))!;
      count.set(key(c), n - 1);
      return n > 0;
    });
  };
  const added = surplus(b, a);
  const removed: Checksum[] = [];
  const changed: [string, string | null, string | null][] = [];
  for (const old of surplus(a, b)) {
    const match = added.findIndex((c) => c[0] === old[0]);
    if (match < 0) {
      removed.push(old);
    } else {
      changed.push([old[0], old[1], added[match][1]]);
      added.splice(match, 1);
    }
  }
  return { changed, added: added.map((c) => c[0]), removed: removed.map((c) => c[0]) };
}

/** The lines for a changed variable value: a unified diff, a word diff, or old and new value. */
function valueChange(name: string, before: string | null, after: string | null, c: Colors) {
  if (before && after && (before.includes("\n") || after.includes("\n"))) {
    const diff = unifiedDiffLines(before, after, c).join("\n");
    return `${c.title}Variable ${name} value changed:${c.reset}\n${diff}${c.reset}`;
  }
  if (before && after && (before.includes(" ") || after.includes(" "))) {
    const diff = wordDiff(before, after, c);
    return `${c.title}Variable ${name} value changed:${c.reset}\n${diff}${c.reset}`;
  }
  const [x, y] = [strOrNone(before), strOrNone(after)];
  return `${c.title}Variable ${name} value changed from '${c.reset}${x}${c.title}' to '` +
    `${c.reset}${y}${c.title}'${c.reset}`;
}

/**
 * Bitbake's `compare_sigfiles(a, b)`: what changed from signature `a` to signature `b`, one
 * entry per finding (an entry may span several lines). Uses bitbake 1.50's wording when both
 * files are pickles, bitbake 2.8's otherwise. Set contents are printed sorted.
 */
export async function compareSigfiles(
  a: SigInfo,
  b: SigInfo,
  opts: CompareOptions = {},
): Promise<string[]> {
  const c = colors(opts.color ?? false);
  const w = a.format === "pickle" && b.format === "pickle" ? BITBAKE_1_50 : BITBAKE_2_8;
  const collapsed = opts.collapsed ?? false;
  const set = (items: Iterable<string>) => reprSet(items, w.frozen);
  // A bold title, then (optionally) plain text; bitbake ends every coloured entry with a reset.
  const title = (text: string, rest?: string) =>
    `${c.title}${text}${c.reset}` + (rest === undefined ? "" : `${rest}${c.reset}`);
  let out: string[] = [];

  if (!sameSet(a.basehash_ignore_vars, b.basehash_ignore_vars)) {
    const [x, y] = [a.basehash_ignore_vars, b.basehash_ignore_vars];
    out.push(title(`${w.ignoreVars} changed`, ` from '${set(x)}' to '${set(y)}'`));
    if (x.size && y.size) out.push(`changed items: ${set(symmetricDifference(x, y))}`);
  }
  // When both are set, bitbake goes on to call a set method on these strings and crashes; the
  // "changed items" line that would follow is left out instead.
  if (a.taskhash_ignore_tasks !== b.taskhash_ignore_tasks) {
    const [x, y] = [a.taskhash_ignore_tasks, b.taskhash_ignore_tasks];
    out.push(title(`${w.ignoreTasks} changed`, ` from '${strOrNone(x)}' to '${strOrNone(y)}'`));
  }
  if (!sameList(a.taskdeps, b.taskdeps)) {
    const [x, y] = [reprList(pythonSort(a.taskdeps)), reprList(pythonSort(b.taskdeps))];
    out.push(title("Task dependencies changed", ` from:\n${x}\nto:\n${y}`));
  }
  if (a.basehash !== b.basehash && !collapsed) {
    out.push(title("basehash changed", ` from ${a.basehash} to ${b.basehash}`));
  }

  const ignored = new Set([...a.basehash_ignore_vars].filter((v) => b.basehash_ignore_vars.has(v)));
  const deps = keyDiff(a.gendeps, b.gendeps, sameSet, ignored);
  for (const name of deps.changed) {
    const [x, y] = [a.gendeps[name], b.gendeps[name]];
    out.push(
      `${c.title}List of dependencies for variable ${name} changed from '${c.reset}${set(x)}` +
        `${c.title}' to '${c.reset}${set(y)}${c.title}'${c.reset}`,
    );
    if (x.size && y.size) out.push(`changed items: ${set(symmetricDifference(x, y))}`);
  }
  for (const name of deps.added) out.push(title(`Dependency on variable ${name} was added`));
  for (const name of deps.removed) out.push(title(`Dependency on Variable ${name} was removed`));

  const values = keyDiff(a.varvals, b.varvals, (x, y) => x === y);
  for (const name of values.changed) {
    out.push(valueChange(name, a.varvals[name], b.varvals[name], c));
  }

  const files = checksumDiff(a.file_checksum_values ?? [], b.file_checksum_values ?? []);
  for (const [path, before, after] of files.changed) {
    const change = ` from ${strOrNone(before)} to ${strOrNone(after)}`;
    out.push(title(`Checksum for file ${path} changed`, change));
  }
  for (const path of files.added) {
    out.push(title(`Dependency on checksum of file ${path} was added`));
  }
  for (const path of files.removed) {
    out.push(title(`Dependency on checksum of file ${path} was removed`));
  }

  const [runA, runB] = [a.runtaskdeps ?? [], b.runtaskdeps ?? []];
  const [hashesA, hashesB] = [a.runtaskhashes ?? {}, b.runtaskhashes ?? {}];
  if (!collapsed) {
    const changed = runA.length !== runB.length
      ? ["Number of task dependencies changed"]
      : runA.flatMap((depA, i) => {
        const depB = runB[i];
        if (hashesA[depA] === hashesB[depB]) return [];
        return [
          `${w.taskId(depA)} with hash ${hashesA[depA]}\n changed to\n` +
          `${w.taskId(depB)} with hash ${hashesB[depB]}`,
        ];
      });
    if (changed.length) {
      const [x, y] = [runA.map(w.taskId), runB.map(w.taskId)];
      out.push(
        sameList(x, y)
          ? title("runtaskdeps changed:")
          : title("runtaskdeps changed:", `\n${listInlineDiff(x, y, c)}`),
      );
      out.push(changed.join("\n"));
    }
  }

  if (a.runtaskhashes && b.runtaskhashes) {
    const shorten = (hashes: Record<string, string>) =>
      Object.fromEntries(Object.entries(hashes).map(([k, v]) => [w.taskId(k), v]));
    const [x, y] = [shorten(a.runtaskhashes), shorten(b.runtaskhashes)];
    const tasks = keyDiff(x, y, (p, q) => p === q);
    // An added and a removed dependency with the same hash count as renamed, not as changed.
    for (const dep of tasks.added) {
      if (tasks.removed.some((old) => x[old] === y[dep])) continue;
      out.push(title(`Dependency on task ${dep} was added`, ` with hash ${y[dep]}`));
    }
    for (const dep of tasks.removed) {
      if (tasks.added.some((now) => y[now] === x[dep])) continue;
      out.push(title(`Dependency on task ${dep} was removed`, ` with hash ${x[dep]}`));
    }
    for (const dep of tasks.changed) {
      if (!collapsed) {
        out.push(title(`${w.changedDep} ${dep} changed`, ` from ${x[dep]} to ${y[dep]}`));
      }
      const nested = opts.recurse ? await opts.recurse(dep, x[dep], y[dep]) : [];
      if (!nested.length) continue;
      if (collapsed) {
        out.push(...nested);
      } else {
        // The dependency's own changes most likely explain this task's: keep only the line
        // naming that dependency, followed by them.
        out = [out[out.length - 1], ...nested];
        break;
      }
    }
  }

  if ((a.taint ?? null) !== (b.taint ?? null)) {
    const [x, y] = [a.taint, b.taint].map((t) => (t === undefined ? "None" : showTaint(t)));
    const change = ` from ${x} to ${y}`;
    out.push(title("Taint (by forced/invalidated task) changed", change));
  }
  return out;
}
