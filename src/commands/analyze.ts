/** `analyze SOURCE TARGET`: why local items are no cache hits in TARGET, bitbake-diffsigs style. */
import { describeError } from "../backends/backend.ts";
import { type Artifact, artifactKind } from "../cache/artifact.ts";
import { type ArtifactFilter, makeFilter } from "../cache/filter.ts";
import { listArtifacts } from "../cache/listing.ts";
import { LocalCache } from "../cache/local_cache.ts";
import { ISAR_KEY_TASKS, taskMatcher, taskPatterns, YOCTO_SSTATE_TASKS } from "../cache/tasks.ts";
import { compareFindings } from "../siginfo/compare.ts";
import type { Finding } from "../siginfo/changes.ts";
import { recursiveCompare, SiginfoIndex } from "../siginfo/lookup.ts";
import { SiginfoError } from "../siginfo/read.ts";
import { Limiter } from "../sync/limiter.ts";
import { itemJson, type ItemResult, type Match, printItem } from "./analyze_report.ts";
import {
  type Command,
  CommandError,
  jobsOf,
  localPathOf,
  openCache,
  type Printer,
  requireSourceAndTarget,
} from "./command.ts";
import { jsonDocument } from "./json_doc.ts";

/** What every item's analysis shares. */
interface Analysis {
  local: SiginfoIndex;
  remote: SiginfoIndex;
  remoteArchives: ReadonlySet<string>;
  /** Remote siginfo hashes by `arch pn task`, sorted. */
  remoteByTask: ReadonlyMap<string, string[]>;
  color: boolean;
  recurse: (key: string, hashA: string, hashB: string) => Promise<Finding[]>;
}

const taskKey = (a: Artifact) => `${a.arch}\0${a.pn}\0${a.task}`;

function compareItems(a: Artifact, b: Artifact): number {
  for (const field of ["arch", "pn", "task", "path"] as const) {
    if (a[field] !== b[field]) return a[field] < b[field] ? -1 : 1;
  }
  return 0;
}

/** Local siginfo files of the tasks checked that pass the filter, sorted, one per hash. */
function localItems(
  artifacts: readonly Artifact[],
  checked: (task: string) => boolean,
  filter: ArtifactFilter,
): Artifact[] {
  const seen = new Set<string>();
  return artifacts
    .filter((a) => artifactKind(a.suffix) === "siginfo" && checked(a.task) && filter(a))
    .sort(compareItems)
    .filter((a) => !seen.has(a.hash) && seen.add(a.hash));
}

/**
 * Says that no local signature is of the tasks checked, naming the tasks the source has (of
 * the recipes the filter selects), so that a Yocto user learns to name them with --task.
 */
function warnNothingChecked(
  out: Printer,
  artifacts: readonly Artifact[],
  filter: ArtifactFilter,
  tasks: readonly string[],
  shown: string,
): void {
  const present = [
    ...new Set(
      artifacts.filter((a) => artifactKind(a.suffix) === "siginfo" && filter(a)).map((a) => a.task),
    ),
  ].sort();
  const has = present.length === 0
    ? "it has no signatures at all"
    : `it has signatures of: ${present.slice(0, 12).join(", ")}${
      present.length > 12 ? ", …" : ""
    }; name the tasks to check with --task`;
  out.warn(`no local signatures of the tasks ${tasks.join(", ")} in ${shown}: ${has}`);
}

function groupByTask(artifacts: readonly Artifact[]): Map<string, string[]> {
  const groups = new Map<string, Set<string>>();
  for (const a of artifacts) {
    if (artifactKind(a.suffix) !== "siginfo") continue;
    if (!groups.has(taskKey(a))) groups.set(taskKey(a), new Set());
    groups.get(taskKey(a))!.add(a.hash);
  }
  return new Map([...groups].map(([key, hashes]) => [key, [...hashes].sort()]));
}

function failure(err: unknown, what: string): string {
  return err instanceof SiginfoError ? err.message : `${what}: ${describeError(err)}`;
}

async function analyzeItem(item: Artifact, an: Analysis): Promise<ItemResult> {
  const result: ItemResult = {
    item,
    status: "hit",
    siginfoOnly: false,
    candidates: [],
    matches: [],
  };
  if (an.remoteArchives.has(item.hash)) return result;
  result.siginfoOnly = an.remote.find(item.hash) !== undefined;
  result.candidates = (an.remoteByTask.get(taskKey(item)) ?? []).filter((h) => h !== item.hash);
  if (result.candidates.length === 0) return { ...result, status: "no-match" };
  let local;
  try {
    local = await an.local.get(item.hash)!;
  } catch (err) {
    return { ...result, status: "error", error: failure(err, `cannot read ${item.path}`) };
  }
  result.matches = await Promise.all(result.candidates.map(async (hash): Promise<Match> => {
    try {
      const remote = await an.remote.get(hash)!;
      const findings = await compareFindings(remote, local, {
        color: an.color,
        recurse: an.recurse,
      });
      return { hash, findings };
    } catch (err) {
      const path = an.remote.find(hash)!.path;
      return { hash, findings: [], error: failure(err, `cannot compare with ${path}`) };
    }
  }));
  return { ...result, status: "miss" };
}

export const analyze: Command = {
  name: "analyze",
  positionals: "SOURCE TARGET",
  options: [
    "json",
    "filter",
    "arch",
    "task",
    "jobs",
    "color",
    "s3-endpoint",
    "s3-path-style",
    "profile",
  ],
  optionHelp: {
    jobs: "signature files read at once (default 8)",
    json: "print each item's status and differences (as text and as records) as JSON",
    task: "check the signatures of this task (fnmatch pattern; repeatable, or comma-separated; " +
      `default: ${ISAR_KEY_TASKS.join(", ")})`,
  },
  description:
    "For every siginfo of a task checked in SOURCE (a local SSTATE_DIR), checks whether TARGET " +
    "has that item. If not, its signature is compared with " +
    "every remote signature of the same arch, PN and task, in bitbake-diffsigs wording, following " +
    "changed dependencies recursively (indented by four spaces per level; hashes shortened to " +
    "8 characters). The tasks checked are Isar's key tasks (" + ISAR_KEY_TASKS.join(", ") +
    ": packages, root filesystems, bootstraps) unless --task names others: Isar also caches " +
    "e.g. copy_boot_files and deploy, Yocto caches " + YOCTO_SSTATE_TASKS.join(", ") +
    " (e.g. --task populate_sysroot --task 'package_write_*'). " +
    "Differences from the reference isar-sstate: a hit needs the remote archive, " +
    "not just its siginfo; an unreadable or corrupt siginfo is reported in one line naming the " +
    "file and the analysis goes on; items, remote matches and (where bitbake 1.50 follows them " +
    "in Python set order) changed dependencies come in sorted order, so the output is the same " +
    "on every run; a dependency whose remote hash is only in the local cache is compared too; " +
    "each signature is downloaded once, JOBS at a time; --arch selects local items by arch; " +
    "a SOURCE without signatures of the tasks checked is a warning that names the tasks it has. " +
    "A missing SOURCE or TARGET is an error (exit 1). --json prints per local item its status " +
    "(hit, miss, no-match, error) and, per remote match, the differences as lines and as " +
    "records (docs/json.md).",
  examples: [
    "isar-sstate analyze build/sstate-cache file:///mnt/sstate",
    "isar-sstate analyze --filter 'linux-' --arch arm64 build/sstate-cache /mnt/sstate",
    "isar-sstate analyze --task populate_sysroot --task 'package_write_*' sstate-cache /mnt/sstate",
    "isar-sstate analyze --color never build/sstate-cache /mnt/sstate | less",
    "isar-sstate analyze --json build/sstate-cache /mnt/sstate",
  ],

  async run(ctx) {
    const { source: given, target: location } = requireSourceAndTarget(ctx);
    const { out, options } = ctx;
    const source = localPathOf(given, "source");
    const jobs = jobsOf(options);
    const filter = makeFilter(options.filter, options.arch);
    const tasks = options.tasks.length > 0 ? taskPatterns(options.tasks) : [...ISAR_KEY_TASKS];
    if (tasks.length === 0) throw new CommandError("--task names no task");
    const checked = taskMatcher(tasks);
    const sourceCache = new LocalCache(source.path, source.shown);
    const target = await openCache(location, options, out);
    try {
      const signal = ctx.abort;
      if (!(await sourceCache.exists({ signal }))) {
        throw new CommandError(`source ${source.shown} does not exist. Nothing to analyze.`);
      }
      if (!(await target.exists({ signal }))) {
        throw new CommandError(`target ${target.displayUrl} does not exist. Nothing to analyze.`);
      }
      const onWarning = (message: string) => out.warn(message);
      const [localList, remoteList] = await Promise.all([
        listArtifacts(sourceCache, undefined, { signal, onWarning }),
        listArtifacts(target, undefined, { signal, onWarning }),
      ]);
      const limiter = new Limiter(jobs);
      const local = new SiginfoIndex(sourceCache, localList.artifacts, limiter, signal);
      const remote = new SiginfoIndex(target, remoteList.artifacts, limiter, signal);
      const color = !options.json && out.color;
      const an: Analysis = {
        local,
        remote,
        remoteArchives: new Set(
          remoteList.artifacts.filter((a) => artifactKind(a.suffix) === "archive").map((a) =>
            a.hash
          ),
        ),
        remoteByTask: groupByTask(remoteList.artifacts),
        color,
        recurse: recursiveCompare({
          findA: (hash) => remote.get(hash) ?? local.get(hash),
          findB: (hash) => local.get(hash) ?? remote.get(hash),
          missing: (side, key, hash) => [
            `could not find ${side === "a" ? "remote" : "local"} signature ${
              hash.slice(0, 8)
            } for job ${key}`,
          ],
          color,
        }),
      };

      const items = localItems(localList.artifacts, checked, filter);
      if (items.length === 0) {
        warnNothingChecked(out, localList.artifacts, filter, tasks, source.shown);
      }
      const progress = ctx.progress("analyzing");
      progress.total(items.length);
      const analyzeOne = async (item: Artifact): Promise<ItemResult> => {
        try {
          return await analyzeItem(item, an);
        } catch (err) {
          if (ctx.abort.aborted) throw err;
          const error = `cannot analyze ${item.path}: ${describeError(err)}`;
          return { item, status: "error", siginfoOnly: false, candidates: [], matches: [], error };
        } finally {
          progress.advance();
        }
      };
      // Items run ahead of the printing by a window; their reads share the limiter.
      const window = 4 * jobs;
      const running: Promise<ItemResult>[] = [];
      const done: ItemResult[] = [];
      const report = async () => {
        const result = await running.shift()!.catch(() => null); // null: cut by a second Ctrl-C
        if (!result) return;
        done.push(result);
        if (!options.json) {
          printItem(out, result);
          out.flush();
        }
      };
      for (const item of items) {
        if (ctx.stop.aborted) break;
        const run = analyzeOne(item);
        run.catch(() => {}); // awaited in order by report()
        running.push(run);
        if (running.length >= window) await report();
      }
      while (running.length > 0) await report();
      progress.clear();
      if (options.json) {
        const json = jsonDocument({
          source: source.shown,
          target: target.displayUrl,
          tasks,
          items: done.map(itemJson),
        });
        out.line(JSON.stringify(json, null, 2));
      }
      if (done.length < items.length) {
        out.warn(`${items.length - done.length} items were not analyzed: the run was stopped`);
      }
      return 0;
    } finally {
      await target.close();
      await sourceCache.close();
    }
  },
};
