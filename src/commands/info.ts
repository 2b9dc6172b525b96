/** `info TARGET`: what a cache holds, as the reference prints it or as JSON. */
import type { Leftover } from "../backends/backend.ts";
import { type Artifact, artifactKind } from "../cache/artifact.ts";
import { makeFilter } from "../cache/filter.ts";
import { listArtifacts } from "../cache/listing.ts";
import { lastUseOf } from "../cache/retention.ts";
import { formatBytes, formatGb } from "../cache/units.ts";
import { type Command, openCache, type Printer, requireTargetOnly } from "./command.ts";
import { JSON_VERSION, jsonDocument } from "./json_doc.ts";

/** The task whose artifacts make a recipe a package, a rootfs or a bootstrap. */
const KEY_TASKS = { deb: "dpkg_build", rootfs: "rootfs_install", bootstrap: "bootstrap" } as const;
type Kind = keyof typeof KEY_TASKS;

function pyStr(s: string): string {
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

interface Tally {
  files: number;
  bytes: number;
}

function tallyBy(artifacts: readonly Artifact[], key: (a: Artifact) => string) {
  const tallies: Record<string, Tally> = {};
  for (const a of artifacts) {
    const t = tallies[key(a)] ??= { files: 0, bytes: 0 };
    t.files++;
    t.bytes += a.size;
  }
  return Object.fromEntries(Object.entries(tallies).sort(([a], [b]) => (a < b ? -1 : 1)));
}

const DAY_MS = 86_400_000;
/** The spans of `lastUse`: last used at most this long before now (the last one: any time). */
const LAST_USE_SPANS = [
  ["day", "within 1 day", DAY_MS],
  ["week", "1 day to 1 week ago", 7 * DAY_MS],
  ["fourWeeks", "1 to 4 weeks ago", 28 * DAY_MS],
  ["earlier", "earlier", Infinity],
] as const;
type Span = typeof LAST_USE_SPANS[number][0];

/** The artifacts by last use (see `lastUseOf`) in disjoint spans before `now`. */
export function lastUseTallies(artifacts: readonly Artifact[], now: number): Record<Span, Tally> {
  const tallies = Object.fromEntries(
    LAST_USE_SPANS.map(([name]) => [name, { files: 0, bytes: 0 }]),
  ) as Record<Span, Tally>;
  for (const a of artifacts) {
    const ago = now - lastUseOf(a);
    const [name] = LAST_USE_SPANS.find(([, , max]) => ago <= max)!;
    tallies[name].files++;
    tallies[name].bytes += a.size;
  }
  return tallies;
}

/** The JSON form of `info --json`; `temps` are leftovers of killed uploads. */
export function infoJson(
  displayUrl: string,
  artifacts: readonly Artifact[],
  temps: readonly Leftover[] = [],
  skippedDirectories = 0,
  now = Date.now(),
) {
  // A loop, not Math.min(...times): spreading 100k+ arguments overflows the stack.
  let oldest = Infinity;
  let newest = -Infinity;
  for (const a of artifacts) {
    oldest = Math.min(oldest, a.mtime);
    newest = Math.max(newest, a.mtime);
  }
  const iso = (t: number) => new Date(t).toISOString();
  return {
    version: JSON_VERSION,
    target: displayUrl,
    exists: true,
    files: artifacts.length,
    bytes: artifacts.reduce((s, a) => s + a.size, 0),
    oldest: artifacts.length ? iso(oldest) : null,
    newest: artifacts.length ? iso(newest) : null,
    archs: tallyBy(artifacts, (a) => a.arch),
    tasks: tallyBy(artifacts, (a) => a.task),
    suffixes: tallyBy(artifacts, (a) => a.suffix),
    kinds: tallyBy(artifacts, (a) => artifactKind(a.suffix)),
    lastUse: lastUseTallies(artifacts, now),
    temporaryFiles: { files: temps.length, bytes: temps.reduce((s, t) => s + t.size, 0) },
    skippedDirectories,
  };
}

/** The `-v` part: archs, and recipes grouped by their key task with their archive counts. */
function printDetails(out: Printer, artifacts: readonly Artifact[]): void {
  const sorted = (items: Iterable<string>) => [...new Set(items)].sort();
  out.info(
    `found the following archs: [${sorted(artifacts.map((a) => a.arch)).map(pyStr).join(", ")}]`,
  );

  const tasksByPn = new Map<string, Set<string>>();
  const archivesByPnTask = new Map<string, number>();
  for (const a of artifacts) {
    if (!tasksByPn.has(a.pn)) tasksByPn.set(a.pn, new Set());
    tasksByPn.get(a.pn)!.add(a.task);
    if (artifactKind(a.suffix) === "archive") {
      const key = `${a.pn}\0${a.task}`;
      archivesByPnTask.set(key, (archivesByPnTask.get(key) ?? 0) + 1);
    }
  }
  const groups: Record<Kind, string[]> = { deb: [], rootfs: [], bootstrap: [] };
  const others: string[] = [];
  for (const pn of sorted(tasksByPn.keys())) {
    const tasks = tasksByPn.get(pn)!;
    const kinds = (Object.keys(KEY_TASKS) as Kind[]).filter((k) => tasks.has(KEY_TASKS[k]));
    if (kinds.length === 1) groups[kinds[0]].push(pn);
    else if (kinds.length === 0) others.push(pn);
    else out.warn(`${pn} could be any of [${kinds.map(pyStr).join(", ")}]`);
  }
  for (const kind of Object.keys(KEY_TASKS) as Kind[]) {
    out.line(`Cache entries for ${kind}:`);
    for (const pn of groups[kind]) {
      out.line(`  - ${pn}: ${archivesByPnTask.get(`${pn}\0${KEY_TASKS[kind]}`) ?? 0} entries`);
    }
  }
  out.line("Other cache entries:");
  for (const pn of others) out.line(`  - ${pn}`);
}

/** The `--last-use` lines: files and bytes per span of last use. */
function printLastUse(out: Printer, artifacts: readonly Artifact[]): void {
  const tallies = lastUseTallies(artifacts, Date.now());
  for (const [name, text] of LAST_USE_SPANS) {
    const { files, bytes } = tallies[name];
    out.info(`last used ${text}: ${files} files (${formatGb(bytes)} GB)`);
  }
}

export const info: Command = {
  name: "info",
  positionals: "TARGET",
  options: [
    "verbose",
    "json",
    "last-use",
    "filter",
    "arch",
    "s3-endpoint",
    "s3-path-style",
    "profile",
  ],
  optionHelp: {
    verbose: "also list the archs, and per recipe the archives of its key task",
    json: "print counts and bytes per arch, task, suffix and kind as JSON",
  },
  description:
    "Scans TARGET and prints how many artifact files it holds and their size. With -v it also " +
    "lists the archs and, per recipe, how many archives of its key task (dpkg_build, " +
    "rootfs_install, bootstrap) the cache has. Temporary files that killed uploads left behind " +
    "are counted separately (clean removes them), as are unfinished S3 multipart uploads. " +
    "--json prints counts and bytes per arch, " +
    "task, suffix and kind, the oldest and newest file, and how much was last used when, for " +
    "dashboards. --last-use prints how many files (and bytes) were last used within 1 day, 1 " +
    "day to 1 week ago, 1 to 4 weeks ago and earlier (by the last use that clean --max-age " +
    "goes by), to choose MAX_AGE or MAX_SIZE.",
  examples: [
    "isar-sstate info file:///mnt/sstate",
    "isar-sstate info -v --filter 'linux-' /mnt/sstate",
    "isar-sstate info --json /mnt/sstate",
    "isar-sstate info --last-use s3://bucket/sstate",
  ],

  async run(ctx) {
    const location = requireTargetOnly(ctx);
    const { out, options } = ctx;
    const filter = makeFilter(options.filter, options.arch);
    const target = await openCache(location, options, out);
    try {
      if (!(await target.exists({ signal: ctx.abort }))) {
        if (options.json) {
          out.line(JSON.stringify(jsonDocument({ target: target.displayUrl, exists: false })));
        } else out.warn(`cannot access target ${target.displayUrl}. No info to show.`);
        return 0;
      }
      out.info(`scanning ${target.displayUrl}`);
      const { artifacts, others, skipped } = await listArtifacts(target, filter, {
        signal: ctx.abort,
        onWarning: (message) => out.warn(message),
      });
      const temps = target.tempFiles?.(others) ?? [];
      if (options.json) {
        const json = infoJson(target.displayUrl, artifacts, temps, skipped);
        out.line(JSON.stringify(json, null, 2));
        return 0;
      }
      const bytes = artifacts.reduce((s, a) => s + a.size, 0);
      out.info(`found ${artifacts.length} files (${formatGb(bytes)} GB)`);
      if (temps.length > 0) {
        const size = formatBytes(temps.reduce((s, t) => s + t.size, 0));
        out.info(
          `found ${temps.length} temporary files (${size}) left by killed uploads; ` +
            "clean removes them once they are an hour old",
        );
      }
      const unfinished = await target.unfinishedUploads?.({ signal: ctx.abort })
        .catch((err) => {
          if (ctx.abort.aborted) throw err;
          return []; // not allowed to list them: nothing to tell
        }) ?? [];
      if (unfinished.length > 0) {
        out.info(
          `found ${unfinished.length} unfinished multipart uploads left by interrupted uploads; ` +
            "clean aborts them once they are MAX_AGE old",
        );
      }
      if (skipped > 0) out.warn(`${skipped} unreadable directories were skipped`);
      if (options.lastUse) printLastUse(out, artifacts);
      if (options.verbose) printDetails(out, artifacts);
      return 0;
    } finally {
      await target.close();
    }
  },
};
