/** Listing of one signature, worded like `bitbake-dumpsig` (bitbake's `dump_sigfile`). */

import { showTaint } from "./display.ts";
import { calcBasehash, calcTaskhash, pythonSort } from "./hash.ts";
import { reprList, reprPairs, reprSet, strOrNone } from "./pyrepr.ts";
import type { SigInfo } from "./types.ts";

type Checksum = [string, string | null];

/** Python's ordering of (path, checksum) pairs; a missing checksum sorts first. */
function sortChecksums(pairs: readonly Checksum[]): Checksum[] {
  const cmp = (x: string | null, y: string | null) =>
    x === y ? 0 : x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
  return [...pairs].sort((p, q) => cmp(p[0], q[0]) || cmp(p[1], q[1]));
}

/**
 * The lines `bitbake-dumpsig` prints for a signature. JSON files get bitbake 2.8's listing (all
 * sorted, including its quirk of printing a `taskhash_ignore_tasks` string as its sorted
 * characters); pickles get bitbake 1.50's (dictionaries in file order, sets printed as sets, here
 * with sorted items). Signatures without run-time data count as having no dependencies.
 */
export function dumpSigfile(sig: SigInfo): string[] {
  const modern = sig.format === "json";
  const keys = (dict: Record<string, unknown>) =>
    modern ? pythonSort(Object.keys(dict)) : Object.keys(dict);
  const out: string[] = [];

  if (modern) {
    out.push(`basehash_ignore_vars: ${reprList(pythonSort(sig.basehash_ignore_vars))}`);
    out.push(`taskhash_ignore_tasks: ${reprList(pythonSort(sig.taskhash_ignore_tasks ?? ""))}`);
  } else {
    out.push(`basewhitelist: ${reprSet(sig.basehash_ignore_vars, false)}`);
    out.push(`taskwhitelist: ${strOrNone(sig.taskhash_ignore_tasks)}`);
  }
  out.push(`Task dependencies: ${reprList(pythonSort(sig.taskdeps))}`);
  out.push(`basehash: ${sig.basehash}`);
  for (const name of keys(sig.gendeps)) {
    const deps = modern
      ? reprList(pythonSort(sig.gendeps[name]))
      : reprSet(sig.gendeps[name], false);
    out.push(`List of dependencies for variable ${name} is ${deps}`);
  }
  for (const name of keys(sig.varvals)) {
    out.push(`Variable ${name} value is ${strOrNone(sig.varvals[name])}`);
  }
  if (sig.runtaskdeps) {
    const deps = modern ? pythonSort(sig.runtaskdeps) : sig.runtaskdeps;
    out.push(`Tasks this task depends on: ${reprList(deps)}`);
  }
  if (sig.file_checksum_values) {
    const files = modern ? sortChecksums(sig.file_checksum_values) : sig.file_checksum_values;
    out.push(`This task depends on the checksums of files: ${reprPairs(files, !modern)}`);
  }
  if (sig.runtaskhashes) {
    for (const dep of keys(sig.runtaskhashes)) {
      out.push(`Hash for dependent task ${dep} is ${sig.runtaskhashes[dep]}`);
    }
  }
  if (sig.taint !== undefined) {
    out.push(`Tainted (by forced/invalidated task): ${showTaint(sig.taint)}`);
  }
  const computed = computedHashes(sig);
  if (computed.basehash !== undefined) {
    out.push(`Computed base hash is ${computed.basehash} and from file ${sig.basehash}`);
  } else {
    out.push("Unable to compute base hash");
  }
  out.push(`Computed task hash is ${computed.taskhash}`);
  return out;
}

/**
 * The base hash (undefined without a task name) and task hash recomputed from a signature's
 * contents, as bitbake-dumpsig does; the task hash builds on the stored base hash.
 */
export function computedHashes(sig: SigInfo): { basehash?: string; taskhash: string } {
  return {
    basehash: sig.task === undefined
      ? undefined
      : calcBasehash({ task: sig.task, taskdeps: sig.taskdeps, varvals: sig.varvals }),
    taskhash: calcTaskhash({
      basehash: sig.basehash,
      runtaskdeps: sig.runtaskdeps ?? [],
      runtaskhashes: sig.runtaskhashes ?? {},
      file_checksum_values: sig.file_checksum_values ?? [],
      taint: sig.taint,
    }),
  };
}
