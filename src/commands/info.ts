/** `info TARGET`: what a cache holds, as the reference prints it or as JSON. */
import type { Leftover } from "../backends/backend.ts";
import { makeFilter } from "../cache/filter.ts";
import { scanArtifacts } from "../cache/listing.ts";
import { formatBytes, formatGb } from "../cache/units.ts";
import { type Command, openCache, type Printer, requireTargetOnly } from "./command.ts";
import { InfoTally, KEY_TASKS, type Kind, LAST_USE_SPANS } from "./info_tally.ts";
import { JSON_VERSION, jsonDocument } from "./json_doc.ts";

function pyStr(s: string): string {
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** The JSON form of `info --json`; `temps` are leftovers of killed uploads. */
export function infoJson(
  displayUrl: string,
  tally: InfoTally,
  temps: readonly Leftover[] = [],
  skippedDirectories = 0,
  now = Date.now(),
) {
  const iso = (t: number) => new Date(t).toISOString();
  return {
    version: JSON_VERSION,
    target: displayUrl,
    exists: true,
    files: tally.files,
    bytes: tally.bytes,
    oldest: tally.files ? iso(tally.oldest) : null,
    newest: tally.files ? iso(tally.newest) : null,
    archs: tally.archs.sorted(),
    tasks: tally.tasks.sorted(),
    suffixes: tally.suffixes.sorted(),
    kinds: tally.kinds.sorted(),
    lastUse: tally.lastUseTallies(now),
    temporaryFiles: { files: temps.length, bytes: temps.reduce((s, t) => s + t.size, 0) },
    skippedDirectories,
  };
}

/** The `-v` part: archs, and recipes grouped by their key task with their archive counts. */
function printDetails(out: Printer, tally: InfoTally): void {
  out.info(`found the following archs: [${tally.archs.keys().map(pyStr).join(", ")}]`);
  const groups: Record<Kind, string[]> = { deb: [], rootfs: [], bootstrap: [] };
  const counts: Record<Kind, number[]> = { deb: [], rootfs: [], bootstrap: [] };
  const others: string[] = [];
  for (const { pn, kinds, archives } of tally.recipes()) {
    if (kinds.length === 1) {
      groups[kinds[0]].push(pn);
      counts[kinds[0]].push(archives[kinds[0]]);
    } else if (kinds.length === 0) others.push(pn);
    else out.warn(`${pn} could be any of [${kinds.map(pyStr).join(", ")}]`);
  }
  for (const kind of Object.keys(KEY_TASKS) as Kind[]) {
    out.line(`Cache entries for ${kind}:`);
    groups[kind].forEach((pn, i) => out.line(`  - ${pn}: ${counts[kind][i]} entries`));
  }
  out.line("Other cache entries:");
  for (const pn of others) out.line(`  - ${pn}`);
}

/** The `--last-use` lines: files and bytes per span of last use. */
function printLastUse(out: Printer, tally: InfoTally): void {
  const tallies = tally.lastUseTallies(Date.now());
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
    "day to 1 week ago, 1 to 4 weeks ago and earlier (the last use that clean measures ages " +
    "on), to choose clean's MAX_AGE or MAX_SIZE.",
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
      const tally = new InfoTally(options.json || options.lastUse, options.verbose);
      const listOptions = { signal: ctx.abort, onWarning: (message: string) => out.warn(message) };
      const { others, skipped } = await scanArtifacts(target, filter, listOptions, (batch) => {
        tally.add(batch);
      });
      const temps = target.tempFiles?.(others) ?? [];
      if (options.json) {
        const json = infoJson(target.displayUrl, tally, temps, skipped);
        out.line(JSON.stringify(json, null, 2));
        return 0;
      }
      out.info(`found ${tally.files} files (${formatGb(tally.bytes)} GB)`);
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
      if (options.lastUse) printLastUse(out, tally);
      if (options.verbose) printDetails(out, tally);
      return 0;
    } finally {
      await target.close();
    }
  },
};
