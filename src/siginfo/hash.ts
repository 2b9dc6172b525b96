/**
 * Bitbake's signature hash formulas (`calc_basehash` / `calc_taskhash` in bitbake's siggen),
 * recomputed from the data stored in a signature file.
 */
import { createHash } from "node:crypto";

/** The fields of a signature that its base hash is computed from. */
export interface BasehashInputs {
  task: string;
  taskdeps: Iterable<string>;
  varvals: Record<string, string | null | undefined>;
}

/** The fields of a signature that its task hash is computed from. */
export interface TaskhashInputs {
  basehash: string;
  runtaskdeps: readonly string[];
  runtaskhashes: Record<string, string>;
  file_checksum_values: readonly (readonly [string, string | null])[];
  taint?: string | null;
}

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** Code-point order, as Python's `sorted()` sorts strings. */
export function pythonSort(items: Iterable<string>): string[] {
  return [...items].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** sha256 over the task's own value followed by each sorted dependency name and its value. */
export function calcBasehash(sig: BasehashInputs): string {
  let data = sig.varvals[sig.task] ?? "";
  for (const dep of pythonSort(sig.taskdeps)) {
    data += dep;
    const value = sig.varvals[dep];
    if (value !== null && value !== undefined) data += String(value);
  }
  return sha256(data);
}

/** sha256 over the base hash, the dependencies' hashes, the file checksums and the taint. */
export function calcTaskhash(sig: TaskhashInputs): string {
  let data = sig.basehash;
  for (const dep of sig.runtaskdeps) data += sig.runtaskhashes[dep];
  for (const [path, checksum] of sig.file_checksum_values) {
    if (!checksum) continue;
    if (path.includes("./")) data += path;
    data += checksum;
  }
  if (sig.taint) {
    data += sig.taint.includes("nostamp:") ? sig.taint.slice(8) : sig.taint;
  }
  return sha256(data);
}
