/** Task names and patterns: `--excluded-tasks` of lint, `--task` of analyze and diff. */

/** The end of a `[…]` set starting at `start` in an fnmatch pattern, or -1 if it is unclosed. */
function setEnd(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === "!") i++;
  if (pattern[i] === "]") i++;
  return pattern.indexOf("]", i);
}

/** Translates a Python `fnmatch` pattern (`*`, `?`, `[seq]`, `[!seq]`) to an anchored regex. */
export function fnmatchToRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const end = c === "[" ? setEnd(pattern, i) : -1;
    if (c === "*") re += "[^]*";
    else if (c === "?") re += "[^]";
    else if (end >= 0) {
      const body = pattern.slice(i + 1, end);
      const negated = body.startsWith("!");
      const members = (negated ? body.slice(1) : body).replace(/[\\\]\[^]/g, "\\$&");
      re += `[${negated ? "^" : ""}${members}]`;
      i = end;
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/**
 * The tasks whose artifacts Isar caches and `analyze` checks by default: packages, root
 * filesystems, bootstraps (what `info -v` groups recipes by).
 */
export const ISAR_KEY_TASKS: readonly string[] = ["dpkg_build", "rootfs_install", "bootstrap"];

/** Tasks a Yocto (OE-core) build keeps in its sstate cache, for help texts. */
export const YOCTO_SSTATE_TASKS: readonly string[] = [
  "populate_sysroot",
  "populate_lic",
  "package",
  "packagedata",
  "package_qa",
  "package_write_ipk",
  "package_write_deb",
  "package_write_rpm",
  "deploy",
  "image_complete",
  "create_spdx",
  "deploy_source_date_epoch",
];

/** A task name as cache file names carry it: without bitbake's `do_` prefix. */
export function bareTask(task: string): string {
  return task.startsWith("do_") ? task.slice(3) : task;
}

/** The tasks `--task` values name: comma-separated fnmatch patterns, `do_` prefixes dropped. */
export function taskPatterns(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(",")).map((t) => bareTask(t.trim())).filter((t) => t);
}

/** Whether a task matches any of `patterns` (fnmatch, as `taskPatterns` gives them). */
export function taskMatcher(patterns: readonly string[]): (task: string) => boolean {
  const res = patterns.map(fnmatchToRegExp);
  return (task) => res.some((re) => re.test(task));
}
