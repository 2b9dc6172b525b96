/** Differences between two signatures, worded like bitbake's `compare_sigfiles`. */

import { type Colors, colors } from "./colors.ts";
import { pythonSort } from "./hash.ts";
import { reprList, reprSet, strOrNone } from "./pyrepr.ts";
import { cleanBasepath, showTaint } from "./display.ts";
import { listInlineDiff, unifiedDiffLines, wordDiff } from "./textdiff.ts";
import { type Finding, finding } from "./changes.ts";
import type { SigInfo } from "./types.ts";

/** Options of `compareSigfiles` and `compareFindings`. */
interface BaseOptions {
  /** Use bitbake's ANSI colours. */
  color?: boolean;
  /** Leave out the basehash, runtaskdeps and dependency-hash lines; keep all recursion output. */
  collapsed?: boolean;
}

/** Options of `compareSigfiles`. */
export interface CompareOptions extends BaseOptions {
  /**
   * Called for a dependency whose hash changed, with its task id and both hashes; returns the
   * comparison of the dependency's own signatures, or nothing when they cannot be found.
   */
  recurse?: (key: string, hashA: string, hashB: string) => Promise<string[]>;
}

/** Options of `compareFindings`. */
export interface FindingOptions extends BaseOptions {
  /**
   * As for `compareSigfiles`, with findings: those of the dependency's comparison have the
   * dependency in their path (see `nested`), any others belong to this comparison.
   */
  recurse?: (key: string, hashA: string, hashB: string) => Promise<Finding[]>;
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
  const { recurse } = opts;
  const findings = await compareFindings(a, b, {
    ...opts,
    recurse: recurse &&
      (async (key, x, y) => (await recurse(key, x, y)).map((line) => finding(line, "note"))),
  });
  return findings.map((f) => f.text);
}

/** `compareSigfiles` with each finding's text and what it says as data (see changes.ts). */
export async function compareFindings(
  a: SigInfo,
  b: SigInfo,
  opts: FindingOptions = {},
): Promise<Finding[]> {
  const c = colors(opts.color ?? false);
  const w = a.format === "pickle" && b.format === "pickle" ? BITBAKE_1_50 : BITBAKE_2_8;
  const collapsed = opts.collapsed ?? false;
  const set = (items: Iterable<string>) => reprSet(items, w.frozen);
  const sorted = (items: Iterable<string>) => pythonSort([...items]);
  // A bold title, then (optionally) plain text; bitbake ends every coloured entry with a reset.
  const title = (text: string, rest?: string) =>
    `${c.title}${text}${c.reset}` + (rest === undefined ? "" : `${rest}${c.reset}`);
  let out: Finding[] = [];

  if (!sameSet(a.basehash_ignore_vars, b.basehash_ignore_vars)) {
    const [x, y] = [a.basehash_ignore_vars, b.basehash_ignore_vars];
    const values = { old: sorted(x), new: sorted(y) };
    out.push(
      finding(
        title(`${w.ignoreVars} changed`, ` from '${set(x)}' to '${set(y)}'`),
        "basehashIgnoreVars",
        values,
      ),
    );
    if (x.size && y.size) {
      const text = `changed items: ${set(symmetricDifference(x, y))}`;
      out.push(finding(text, "basehashIgnoreVars", values));
    }
  }
  // When both are set, bitbake goes on to call a set method on these strings and crashes; the
  // "changed items" line that would follow is left out instead.
  if (a.taskhash_ignore_tasks !== b.taskhash_ignore_tasks) {
    const [x, y] = [a.taskhash_ignore_tasks, b.taskhash_ignore_tasks];
    const text = title(`${w.ignoreTasks} changed`, ` from '${strOrNone(x)}' to '${strOrNone(y)}'`);
    out.push(finding(text, "taskhashIgnoreTasks", { old: x, new: y }));
  }
  if (!sameList(a.taskdeps, b.taskdeps)) {
    const [x, y] = [pythonSort(a.taskdeps), pythonSort(b.taskdeps)];
    const text = title("Task dependencies changed", ` from:\n${reprList(x)}\nto:\n${reprList(y)}`);
    out.push(finding(text, "variableList", { old: x, new: y }));
  }
  if (a.basehash !== b.basehash && !collapsed) {
    const text = title("basehash changed", ` from ${a.basehash} to ${b.basehash}`);
    out.push(finding(text, "basehash", { old: a.basehash, new: b.basehash }));
  }

  const ignored = new Set([...a.basehash_ignore_vars].filter((v) => b.basehash_ignore_vars.has(v)));
  const deps = keyDiff(a.gendeps, b.gendeps, sameSet, ignored);
  for (const name of deps.changed) {
    const [x, y] = [a.gendeps[name], b.gendeps[name]];
    const values = { name, old: sorted(x), new: sorted(y) };
    out.push(finding(
      `${c.title}List of dependencies for variable ${name} changed from '${c.reset}${set(x)}` +
        `${c.title}' to '${c.reset}${set(y)}${c.title}'${c.reset}`,
      "variableDependencies",
      values,
    ));
    if (x.size && y.size) {
      const text = `changed items: ${set(symmetricDifference(x, y))}`;
      out.push(finding(text, "variableDependencies", values));
    }
  }
  for (const name of deps.added) {
    const text = title(`Dependency on variable ${name} was added`);
    out.push(finding(text, "variableDependencies", { change: "added", name }));
  }
  for (const name of deps.removed) {
    const text = title(`Dependency on Variable ${name} was removed`);
    out.push(finding(text, "variableDependencies", { change: "removed", name }));
  }

  const values = keyDiff(a.varvals, b.varvals, (x, y) => x === y);
  for (const name of values.changed) {
    const [x, y] = [a.varvals[name], b.varvals[name]];
    out.push(finding(valueChange(name, x, y, c), "variable", { name, old: x, new: y }));
  }

  const files = checksumDiff(a.file_checksum_values ?? [], b.file_checksum_values ?? []);
  for (const [path, before, after] of files.changed) {
    const change = ` from ${strOrNone(before)} to ${strOrNone(after)}`;
    const text = title(`Checksum for file ${path} changed`, change);
    out.push(finding(text, "fileChecksum", { name: path, old: before, new: after }));
  }
  for (const path of files.added) {
    const text = title(`Dependency on checksum of file ${path} was added`);
    out.push(finding(text, "fileChecksum", { change: "added", name: path }));
  }
  for (const path of files.removed) {
    const text = title(`Dependency on checksum of file ${path} was removed`);
    out.push(finding(text, "fileChecksum", { change: "removed", name: path }));
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
      const lists = { old: x, new: y };
      out.push(finding(
        sameList(x, y)
          ? title("runtaskdeps changed:")
          : title("runtaskdeps changed:", `\n${listInlineDiff(x, y, c)}`),
        "taskList",
        lists,
      ));
      out.push(finding(changed.join("\n"), "taskList", lists));
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
      const text = title(`Dependency on task ${dep} was added`, ` with hash ${y[dep]}`);
      out.push(finding(text, "dependency", { change: "added", name: dep, new: y[dep] }));
    }
    for (const dep of tasks.removed) {
      if (tasks.added.some((now) => y[now] === x[dep])) continue;
      const text = title(`Dependency on task ${dep} was removed`, ` with hash ${x[dep]}`);
      out.push(finding(text, "dependency", { change: "removed", name: dep, old: x[dep] }));
    }
    for (const dep of tasks.changed) {
      const line = finding(
        title(`${w.changedDep} ${dep} changed`, ` from ${x[dep]} to ${y[dep]}`),
        "dependencyHash",
        { name: dep, old: x[dep], new: y[dep] },
      );
      if (!collapsed) out.push(line);
      const deeper = opts.recurse ? await opts.recurse(dep, x[dep], y[dep]) : [];
      if (!deeper.length) continue;
      if (collapsed) {
        out.push(...deeper);
      } else {
        // The dependency's own changes most likely explain this task's: keep only the line
        // naming that dependency, followed by them.
        out = [line, ...deeper];
        break;
      }
    }
  }

  if ((a.taint ?? null) !== (b.taint ?? null)) {
    const [x, y] = [a.taint, b.taint].map((t) => (t === undefined ? "None" : showTaint(t)));
    const change = ` from ${x} to ${y}`;
    const text = title("Taint (by forced/invalidated task) changed", change);
    out.push(finding(text, "taint", { old: a.taint ?? null, new: b.taint ?? null }));
  }
  return out;
}
