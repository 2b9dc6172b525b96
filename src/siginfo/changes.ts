/**
 * What a signature comparison found, as data: each finding of `compareFindings` carries bitbake's
 * text and a record of what changed, so that `--json` consumers need not parse the text.
 */

/** What a finding is about. */
export type ChangeKind =
  /** `basehash_ignore_vars` (bitbake 1.x: `basewhitelist`): old and new sorted lists. */
  | "basehashIgnoreVars"
  /** `taskhash_ignore_tasks` (`taskwhitelist`): old and new regex (or null). */
  | "taskhashIgnoreTasks"
  /** The variables the task depends on (`taskdeps`): old and new sorted lists. */
  | "variableList"
  /** The base hash: old and new hash. */
  | "basehash"
  /** The variables a variable depends on: `name` the variable; lists, or added/removed. */
  | "variableDependencies"
  /** A variable's value: `name` the variable; old and new value (null: unset). */
  | "variable"
  /** A file checksum: `name` the file; old and new checksum; or the file added/removed. */
  | "fileChecksum"
  /** The task's dependencies (`runtaskdeps`): old and new lists of task ids. */
  | "taskList"
  /** A dependency's hash: `name` the task id; old and new hash. */
  | "dependencyHash"
  /** A dependency added or removed: `name` the task id, its hash in `old` or `new`. */
  | "dependency"
  /** The taint of a forced or invalidated task: old and new (null: none). */
  | "taint"
  /** A changed dependency's signature is not there: `name` its task id, the hash missing. */
  | "missingSignature"
  /** A changed dependency's signature cannot be read: `name` its task id; see `text`. */
  | "unreadableSignature"
  /** Any other line (e.g. of a caller's recursion). */
  | "note";

/** One finding as data. */
export interface Change {
  what: ChangeKind;
  /** For differences: how the item changed; null for findings that are no difference. */
  change: "changed" | "added" | "removed" | null;
  /** The variable, file or task id concerned, if any. */
  name: string | null;
  old: string | string[] | null;
  new: string | string[] | null;
  /**
   * The changed dependencies (task ids) followed from the compared signature to the one this
   * finding is about; empty for findings about the compared signature itself.
   */
  path: string[];
}

/** One finding of a comparison: bitbake's text (one entry, maybe several lines) and its data. */
export interface Finding {
  text: string;
  change: Change;
}

/** A finding with the given fields (null for those not given, no dependency path). */
export function finding(
  text: string,
  what: ChangeKind,
  fields: Partial<Omit<Change, "what" | "path">> = {},
): Finding {
  const change: Change = {
    what,
    change: fields.change === undefined ? (what === "note" ? null : "changed") : fields.change,
    name: fields.name ?? null,
    old: fields.old ?? null,
    new: fields.new ?? null,
    path: [],
  };
  return { text, change };
}

/** `findings` of the comparison of dependency `key`, seen from the comparison that followed it. */
export function nested(findings: readonly Finding[], key: string): Finding[] {
  return findings.map((f) => ({ ...f, change: { ...f.change, path: [key, ...f.change.path] } }));
}

/** Python's `str.splitlines()`. */
// deno-lint-ignore no-control-regex
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

/** Every line of every entry, prefixed with `indent` (entries split as Python's splitlines). */
export function indentEntries(entries: readonly string[], indent: string): string[] {
  return entries.flatMap((entry) => {
    const lines = entry.split(LINE_BREAK);
    if (lines.at(-1) === "") lines.pop();
    return lines.map((line) => indent + line);
  });
}

/**
 * The text of findings as `analyze` and `diff` print it: a finding about the compared signature
 * as it is, one about a dependency line by line, indented by `indent` per dependency followed.
 */
export function renderFindings(findings: readonly Finding[], indent: string): string[] {
  return findings.flatMap((f) => {
    const depth = f.change.path.length;
    return depth === 0 ? [f.text] : indentEntries([f.text], indent.repeat(depth));
  });
}
