/** What `analyze` prints per local item: the reference's text, or a JSON record. */
import type { Artifact } from "../cache/artifact.ts";
import { type Finding, indentEntries, renderFindings } from "../siginfo/changes.ts";
import type { Printer } from "./command.ts";

/** How an item fared: in the remote cache, compared with its matches, without any, unreadable. */
export type Status = "hit" | "miss" | "no-match" | "error";

/** One comparison of the local item with a remote signature of the same arch, PN and task. */
export interface Match {
  hash: string;
  /** What compareFindings found (nested ones with their dependency path). */
  findings: Finding[];
  error?: string;
}

/** The analysis of one local item. */
export interface ItemResult {
  item: Artifact;
  status: Status;
  /** The remote has the item's siginfo but not its archive. */
  siginfoOnly: boolean;
  /** Hashes of the potential remote matches. */
  candidates: string[];
  matches: Match[];
  error?: string;
}

/** How nested findings are indented, per dependency followed. */
const INDENT = "    ";

/**
 * The reference shortens 64-char hashes to 8 for readability; our error lines keep them, as they
 * name files.
 */
function shortenHashes(entry: string): string {
  return entry.split("\n").map((line) =>
    /^\s*ERROR: /.test(line) ? line : line.replace(/([0-9a-f]{8})[0-9a-f]{56}/g, "$1")
  ).join("\n");
}

/** A match's text as printed: findings rendered, indented by depth, hashes shortened. */
export function matchText(m: Match): string[] {
  return renderFindings(m.findings, INDENT).map(shortenHashes);
}

/** Prints an item as the reference does. */
export function printItem(out: Printer, r: ItemResult): void {
  const { arch, pn, task, hash } = r.item;
  out.line(
    `\x1b[1;33m==== checking local item ${arch}:${pn}:${task} (${hash.slice(0, 8)}) ====\x1b[0m`,
  );
  if (r.status === "hit") {
    out.line(" -> found hit in remote cache");
    return;
  }
  if (r.siginfoOnly) out.line(" -> the remote has this item's siginfo, but not its archive");
  const n = r.candidates.length;
  out.line(
    n === 0
      ? " -> found no hit, and no potential remote matches"
      : ` -> found no hit, but ${n} potential remote matches`,
  );
  if (r.error) out.error(r.error);
  for (const m of r.matches) {
    out.line(`\x1b[0;33m**** comparing to ${m.hash.slice(0, 8)} ****\x1b[0m`);
    if (m.error) out.error(m.error);
    for (const line of matchText(m)) out.line(line);
  }
}

/** An item as `analyze --json` gives it (docs/json.md). */
export function itemJson(r: ItemResult) {
  const { arch, pn, task, hash } = r.item;
  return {
    arch,
    pn,
    task,
    hash,
    status: r.status,
    siginfoOnly: r.siginfoOnly,
    matches: r.matches.map((m) => ({
      hash: m.hash,
      differences: indentEntries(matchText(m), ""),
      changes: m.findings.map((f) => ({
        ...f.change,
        text: indentEntries([f.text], "").map(shortenHashes),
      })),
      ...(m.error ? { error: m.error } : {}),
    })),
    ...(r.error ? { error: r.error } : {}),
  };
}
