/**
 * Which artifacts `clean` deletes, and why: by last use (the later of a file's modification time
 * and its recorded use), OE's policies (artifacts named by stamps directories are kept, only the
 * newest versions of each recipe/arch/task are kept), and a size quota filled least recently used
 * first. Siginfo files and detached signatures follow their archive. A cache whose files were
 * never marked used is cleaned by modification time, exactly as before.
 */
import { type Artifact, artifactKind } from "./artifact.ts";
import { ArtifactTable } from "./artifact_table.ts";

/** The rules of one clean. Ages are in seconds. */
export interface RetentionRules {
  maxAge: number;
  /** At least `maxAge`. */
  maxSigAge: number;
  /** Hashes never deleted (named by stamps directories). */
  keepHashes?: ReadonlySet<string>;
  /** Keep only this many most recently used archives of each recipe/arch/task. */
  keepNewest?: number;
  /** Delete least recently used archives until the artifacts take at most this many bytes. */
  maxSize?: number;
}

/** Why a file goes, in the order a dry run lists them. */
export type Reason =
  | "age"
  | "older version"
  | "size quota"
  | "with its archive"
  | "siginfo age"
  | "signature age";

export const REASONS: readonly Reason[] = [
  "age",
  "older version",
  "size quota",
  "with its archive",
  "siginfo age",
  "signature age",
];

/** A plan of `clean` on a table of artifacts (see `planClean`). */
export interface CleanPlan {
  table: ArtifactTable;
  /** Per row: 0 where it is kept, else 1 + the index of its reason in REASONS. */
  reasons: Uint8Array;
  archives: number;
  siginfo: number;
  /** Archives (and their files) kept because a stamps directory names their hash. */
  keptByStamps: number;
  /** Bytes of the artifacts left after the clean. */
  bytesLeft: number;
}

/** The reason row `row` of `plan` goes for, or undefined where it is kept. */
export function reasonOf(plan: CleanPlan, row: number): Reason | undefined {
  const reason = plan.reasons[row];
  return reason === 0 ? undefined : REASONS[reason - 1];
}

/**
 * The rows `plan` deletes, in the order a clean lists them: the archives by reason, then the
 * siginfo files and signatures by reason (siginfo first); each in the table's order.
 */
export function* doomedRows(plan: CleanPlan, part: "archives" | "others"): Generator<number> {
  const { table, reasons } = plan;
  const kinds = part === "archives" ? ["archive"] : ["siginfo", "signature"];
  for (let reason = 1; reason <= REASONS.length; reason++) {
    for (const kind of kinds) {
      for (let row = 0; row < reasons.length; row++) {
        if (reasons[row] === reason && table.kind(row) === kind) yield row;
      }
    }
  }
}

/** How many archives `plan` deletes for `reason`. */
export function archivesDoomedFor(plan: CleanPlan, reason: Reason): number {
  const code = REASONS.indexOf(reason) + 1;
  let count = 0;
  for (let row = 0; row < plan.reasons.length; row++) {
    if (plan.reasons[row] === code && plan.table.kind(row) === "archive") count++;
  }
  return count;
}

/** Plans a clean of the artifacts of `table` at time `now` (ms). */
export function planClean(table: ArtifactTable, rules: RetentionRules, now: number): CleanPlan {
  const n = table.length;
  const age = (row: number) => Math.floor((now - table.lastUse(row)) / 1000);
  const keepHashes = rules.keepHashes;
  const keptRows = keepHashes ? new Uint8Array(n) : null;
  if (keptRows) {
    for (let row = 0; row < n; row++) keptRows[row] = +keepHashes!.has(table.hash(row));
  }
  const kept = (row: number) => keptRows !== null && keptRows[row] === 1;
  const reasons = new Uint8Array(n);
  const doom = (row: number, reason: Reason) => {
    if (reasons[row] === 0 && !kept(row)) reasons[row] = REASONS.indexOf(reason) + 1;
  };
  const isArchive = (row: number) => table.kind(row) === "archive";
  let archives = 0;
  let siginfo = 0;
  for (let row = 0; row < n; row++) {
    const kind = table.kind(row);
    if (kind === "archive") {
      archives++;
      if (age(row) >= rules.maxAge) doom(row, "age");
    } else if (kind === "siginfo") siginfo++;
  }
  if (rules.keepNewest !== undefined) keepNewest(table, rules.keepNewest, doom);

  // Each siginfo and signature with its archive's row (-1: none), kept where the quota needs it.
  let archiveOf: Int32Array | null = null;
  if (rules.maxSize !== undefined) {
    archiveOf = new Int32Array(n).fill(-1);
    for (let row = 0; row < n; row++) if (!isArchive(row)) archiveOf[row] = table.archiveOf(row);
  }
  const followerReason = (row: number): Reason | null => {
    const archive = isArchive(row) ? row : archiveOf ? archiveOf[row] : table.archiveOf(row);
    if (archive >= 0 && reasons[archive] !== 0) return "with its archive";
    const kind = table.kind(row);
    if (kind === "siginfo") return age(row) >= rules.maxSigAge ? "siginfo age" : null;
    return age(row) >= rules.maxAge ? "signature age" : null;
  };
  if (rules.maxSize !== undefined) {
    fillQuota(table, rules.maxSize, reasons, archiveOf!, kept, followerReason);
  }
  for (let row = 0; row < n; row++) {
    if (isArchive(row)) continue;
    const reason = followerReason(row);
    if (reason) doom(row, reason);
  }
  let bytesLeft = 0;
  let keptByStamps = 0;
  for (let row = 0; row < n; row++) {
    if (reasons[row] === 0) bytesLeft += table.size(row);
    if (kept(row) && isArchive(row)) keptByStamps++;
  }
  return { table, reasons, archives, siginfo, keptByStamps, bytesLeft };
}

/** Dooms all but the `keep` most recently used archives of each recipe/arch/task. */
function keepNewest(
  table: ArtifactTable,
  keep: number,
  doom: (row: number, reason: Reason) => void,
): void {
  // Groups by the recipe and arch of the name's head and the task of its tail.
  const heads = new Map<string, number>();
  const recipeIds = new Map<string, number>();
  const groupIds = new Map<string, number>();
  const tasks = new Map<number, string>();
  const rows: number[] = [];
  const groupOf: number[] = [];
  for (let row = 0; row < table.length; row++) {
    if (table.kind(row) !== "archive") continue;
    const [pn, rest] = table.headIds(row);
    let recipe = heads.get(`${pn}:${rest}`);
    if (recipe === undefined) {
      const fields = table.head(row).split(":");
      const key = `${fields[1]}\0${fields[5]}`;
      recipe = recipeIds.get(key) ?? recipeIds.size;
      recipeIds.set(key, recipe);
      heads.set(`${pn}:${rest}`, recipe);
    }
    const tail = table.tail(row);
    let task = tasks.get(tail);
    if (task === undefined) {
      const text = table.strings.text(tail);
      task = text.slice(1, text.indexOf("."));
      tasks.set(tail, task);
    }
    const key = `${recipe}\0${task}`;
    const group = groupIds.get(key) ?? groupIds.size;
    groupIds.set(key, group);
    rows.push(row);
    groupOf[row] = group;
  }
  rows.sort((a, b) =>
    groupOf[a] - groupOf[b] || table.lastUse(b) - table.lastUse(a) || byPath(table, a, b)
  );
  for (let i = 0, rank = 0; i < rows.length; i++) {
    rank = i > 0 && groupOf[rows[i]] === groupOf[rows[i - 1]] ? rank + 1 : 0;
    if (rank >= keep) doom(rows[i], "older version");
  }
}

const byPath = (table: ArtifactTable, a: number, b: number) => {
  const pa = table.path(a);
  const pb = table.path(b);
  return pa < pb ? -1 : pa > pb ? 1 : 0;
};

/**
 * Dooms the least recently used archives (each with its siginfo and signature), and siginfo
 * files and signatures without an archive, until what is left takes at most `maxSize` bytes.
 */
function fillQuota(
  table: ArtifactTable,
  maxSize: number,
  reasons: Uint8Array,
  archiveOf: Int32Array,
  kept: (row: number) => boolean,
  followerReason: (row: number) => Reason | null,
): void {
  const n = table.length;
  const quota = REASONS.indexOf("size quota") + 1;
  const left = (row: number) => reasons[row] === 0 && followerReason(row) === null;
  let bytes = 0;
  for (let row = 0; row < n; row++) {
    if (reasons[row] === 0 && (kept(row) || left(row))) bytes += table.size(row);
  }
  // The followers of each archive, as linked lists.
  const first = new Int32Array(n).fill(-1);
  const next = new Int32Array(n).fill(-1);
  for (let row = n - 1; row >= 0; row--) {
    const archive = archiveOf[row];
    if (archive < 0) continue;
    next[row] = first[archive];
    first[archive] = row;
  }
  // Units of the quota: an archive with its followers, or a siginfo/signature on its own.
  const units: number[] = [];
  for (let row = 0; row < n; row++) {
    if (table.kind(row) === "archive") {
      if (reasons[row] === 0 && !kept(row)) units.push(row);
    } else if (archiveOf[row] < 0 && !kept(row) && left(row)) units.push(row);
  }
  units.sort((a, b) => table.lastUse(a) - table.lastUse(b) || (byPath(table, a, b) < 0 ? -1 : 1));
  const files: number[] = [];
  for (const unit of units) {
    if (bytes <= maxSize) break;
    files.length = 0;
    files.push(unit);
    for (let f = first[unit]; f >= 0; f = next[f]) if (left(f)) files.push(f);
    for (const f of files) {
      reasons[f] = quota;
      bytes -= table.size(f);
    }
  }
}

/** A plan of `clean` as lists of artifacts (see `planRetention`). */
export interface RetentionPlan {
  archives: Artifact[];
  siginfo: Artifact[];
  /** Archives to delete, each with its reason, in the order of REASONS. */
  deleteArchives: Artifact[];
  /** Siginfo files and signatures to delete. */
  deleteOthers: Artifact[];
  reasons: Map<Artifact, Reason>;
  /** Archives (and their files) kept because a stamps directory names their hash. */
  keptByStamps: number;
  /** Bytes of the artifacts left after the clean. */
  bytesLeft: number;
}

/** Plans a clean of `artifacts` at time `now` (ms), as `planClean` does, in lists. */
export function planRetention(
  artifacts: readonly Artifact[],
  rules: RetentionRules,
  now: number,
): RetentionPlan {
  const table = new ArtifactTable();
  for (const a of artifacts) table.add(a);
  const plan = planClean(table, rules, now);
  const reasons = new Map<Artifact, Reason>();
  artifacts.forEach((a, row) => {
    const reason = reasonOf(plan, row);
    if (reason) reasons.set(a, reason);
  });
  return {
    archives: artifacts.filter((a) => artifactKind(a.suffix) === "archive"),
    siginfo: artifacts.filter((a) => artifactKind(a.suffix) === "siginfo"),
    deleteArchives: [...doomedRows(plan, "archives")].map((row) => artifacts[row]),
    deleteOthers: [...doomedRows(plan, "others")].map((row) => artifacts[row]),
    reasons,
    keptByStamps: plan.keptByStamps,
    bytesLeft: plan.bytesLeft,
  };
}
