/** `analyze SOURCE TARGET`: why local items are no cache hits in TARGET, bitbake-diffsigs style. */
import { describeError } from "../backends/backend.ts";
import { type Artifact, artifactKind } from "../cache/artifact.ts";
import { type ArtifactFilter, makeFilter } from "../cache/filter.ts";
import { listArtifacts } from "../cache/listing.ts";
import { LocalCache } from "../cache/local_cache.ts";
import { compareSigfiles } from "../siginfo/compare.ts";
import { indentEntries, recursiveCompare, SiginfoIndex } from "../siginfo/lookup.ts";
import { SiginfoError } from "../siginfo/read.ts";
import { Limiter } from "../sync/limiter.ts";
import {
  type Command,
  CommandError,
  jobsOf,
  localPathOf,
  openCache,
  type Printer,
  requireSourceAndTarget,
} from "./command.ts";

/** Tasks whose artifacts are worth a report: packages, root filesystems, bootstraps. */
const KEY_TASKS: ReadonlySet<string> = new Set(["dpkg_build", "rootfs_install", "bootstrap"]);

type Status = "hit" | "miss" | "no-match" | "error";

/** One comparison of the local item with a remote signature of the same arch, PN and task. */
interface Match {
  hash: string;
  /** compareSigfiles entries, hashes shortened. */
  entries: string[];
  error?: string;
}

interface ItemResult {
  item: Artifact;
  status: Status;
  /** The remote has the item's siginfo but not its archive. */
  siginfoOnly: boolean;
  /** Hashes of the potential remote matches. */
  candidates: string[];
  matches: Match[];
  error?: string;
}

/** What every item's analysis shares. */
interface Analysis {
  local: SiginfoIndex;
  remote: SiginfoIndex;
  remoteArchives: ReadonlySet<string>;
  /** Remote siginfo hashes by `arch pn task`, sorted. */
  remoteByTask: ReadonlyMap<string, string[]>;
  color: boolean;
  recurse: (key: string, hashA: string, hashB: string) => Promise<string[]>;
}

const taskKey = (a: Artifact) => `${a.arch}\0${a.pn}\0${a.task}`;

/**
 * The reference shortens 64-char hashes to 8 for readability; our error lines keep them, as they
 * name files.
 */
function shortenHashes(entry: string): string {
  return entry.split("\n").map((line) =>
    /^\s*ERROR: /.test(line) ? line : line.replace(/([0-9a-f]{8})[0-9a-f]{56}/g, "$1")
  ).join("\n");
}

function compareItems(a: Artifact, b: Artifact): number {
  for (const field of ["arch", "pn", "task", "path"] as const) {
    if (a[field] !== b[field]) return a[field] < b[field] ? -1 : 1;
  }
  return 0;
}

/** Local siginfo files of key tasks that pass the filter, sorted, one per hash. */
function localItems(artifacts: readonly Artifact[], filter: ArtifactFilter): Artifact[] {
  const seen = new Set<string>();
  return artifacts
    .filter((a) => artifactKind(a.suffix) === "siginfo" && KEY_TASKS.has(a.task) && filter(a))
    .sort(compareItems)
    .filter((a) => !seen.has(a.hash) && seen.add(a.hash));
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
      const entries = await compareSigfiles(remote, local, {
        color: an.color,
        recurse: an.recurse,
      });
      return { hash, entries: entries.map(shortenHashes) };
    } catch (err) {
      const path = an.remote.find(hash)!.path;
      return { hash, entries: [], error: failure(err, `cannot compare with ${path}`) };
    }
  }));
  return { ...result, status: "miss" };
}

function printItem(out: Printer, r: ItemResult): void {
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
    for (const entry of m.entries) out.line(entry);
  }
}

function itemJson(r: ItemResult) {
  const { arch, pn, task, hash } = r.item;
  return {
    arch,
    pn,
    task,
    hash,
    status: r.status,
    matches: r.matches.map((m) => ({
      hash: m.hash,
      differences: indentEntries(m.entries, ""),
      ...(m.error ? { error: m.error } : {}),
    })),
    ...(r.error ? { error: r.error } : {}),
  };
}

export const analyze: Command = {
  name: "analyze",
  positionals: "SOURCE TARGET",
  options: ["verbose", "json", "filter", "arch", "jobs", "color", "s3-endpoint", "s3-path-style"],
  optionHelp: {
    verbose: "accepted as the Python tool accepts it; analyze prints every item either way",
    jobs: "signature files read at once (default 8)",
    json: "print each item's status and differences as JSON",
  },
  description:
    "For every siginfo of a key task (dpkg_build, rootfs_install, bootstrap) in SOURCE (a local " +
    "SSTATE_DIR), checks whether TARGET has that item. If not, its signature is compared with " +
    "every remote signature of the same arch, PN and task, in bitbake-diffsigs wording, following " +
    "changed dependencies recursively (indented by four spaces per level; hashes shortened to " +
    "8 characters). Differences from the reference isar-sstate: a hit needs the remote archive, " +
    "not just its siginfo; an unreadable or corrupt siginfo is reported in one line naming the " +
    "file and the analysis goes on; items, remote matches and (where bitbake 1.50 follows them " +
    "in Python set order) changed dependencies come in sorted order, so the output is the same " +
    "on every run; a dependency whose remote hash is only in the local cache is compared too; " +
    "each signature is downloaded once, JOBS at a time; --arch selects local items by arch. " +
    "A missing SOURCE or TARGET is an error (exit 1). --json prints per local item its status " +
    "(hit, miss, no-match, error) and the differences to each match as plain lines.",
  examples: [
    "isar-sstate analyze build/sstate-cache file:///mnt/sstate",
    "isar-sstate analyze --filter 'linux-' --arch arm64 build/sstate-cache /mnt/sstate",
    "isar-sstate analyze --color never build/sstate-cache /mnt/sstate | less",
    "isar-sstate analyze --json build/sstate-cache /mnt/sstate",
  ],

  async run(ctx) {
    const { source: given, target: location } = requireSourceAndTarget(ctx);
    const { out, options } = ctx;
    const source = localPathOf(given, "source");
    const jobs = jobsOf(options);
    const filter = makeFilter(options.filter, options.arch);
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
          indent: "    ",
        }),
      };

      const items = localItems(localList.artifacts, filter);
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
        const json = { source: source.shown, target: target.displayUrl, items: done.map(itemJson) };
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
