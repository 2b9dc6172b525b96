/** `clean TARGET`: delete old archives, and siginfo files that are older still or orphaned. */
import { describeError, type Entry, isAbortError } from "../backends/backend.ts";
import { defaultJobsText } from "../backends/registry.ts";
import { parseAge } from "../cache/age.ts";
import { ArtifactTable } from "../cache/artifact_table.ts";
import { makeFilter } from "../cache/filter.ts";
import { scanArtifacts } from "../cache/listing.ts";
import {
  archivesDoomedFor,
  type CleanPlan,
  doomedRows,
  planClean,
  type Reason,
  reasonOf,
  type RetentionRules,
} from "../cache/retention.ts";
import { stampHashes } from "../cache/stamp_hashes.ts";
import { formatBytes, formatGb, parseSize } from "../cache/units.ts";
import { Limiter } from "../sync/limiter.ts";
import { abortUploads, deleteAll, staleUploads, type UploadsTally } from "./clean_delete.ts";
import {
  type Command,
  CommandError,
  jobsOf,
  openCache,
  type Printer,
  requireTargetOnly,
} from "./command.ts";
import type { Options } from "./options.ts";

/**
 * How old a temporary file of a killed upload must be before clean removes it (no upload still
 * writes it), unless its writer is known to be gone.
 */
const STALE_TEMP_AGE_MS = 60 * 60 * 1000;

/** The effective age limits, in seconds, with the texts to print for them. */
interface AgeLimits {
  maxAge: number;
  maxAgeText: string;
  maxSigAge: number;
  maxSigAgeText: string;
}

function ageLimits(options: Options, out: Printer): AgeLimits {
  const maxAge = parseAge(options.maxAge, "MAX_AGE");
  const maxSigAgeText = options.maxSigAge ?? options.maxAge;
  const maxSigAge = parseAge(maxSigAgeText, "MAX_SIG_AGE");
  if (maxAge.unitless) out.warn("MAX_AGE without unit, assuming 'days'");
  if (options.maxSigAge !== undefined && maxSigAge.unitless) {
    out.warn("MAX_SIG_AGE without unit, assuming 'days'");
  }
  const raised = maxSigAge.seconds < maxAge.seconds;
  return {
    maxAge: maxAge.seconds,
    maxAgeText: options.maxAge,
    maxSigAge: raised ? maxAge.seconds : maxSigAge.seconds,
    maxSigAgeText: raised ? options.maxAge : maxSigAgeText,
  };
}

/** The texts a dry run with -v prints above the files deleted for each reason. */
function reasonHeader(reason: Reason, limits: AgeLimits, options: Options): string {
  switch (reason) {
    case "age":
      return `archives last used at least ${limits.maxAgeText} ago (MAX_AGE):`;
    case "older version":
      return `archives not among the ${options.keepNewest} most recently used of their ` +
        "recipe/arch/task (--keep-newest):";
    case "size quota":
      return `least recently used artifacts over the size quota of ${options.maxSize} ` +
        "(--max-size):";
    case "with its archive":
      return "siginfo files and signatures of the archives deleted:";
    case "siginfo age":
      return `siginfo files last used at least ${limits.maxSigAgeText} ago (MAX_SIG_AGE):`;
    case "signature age":
      return `signatures last used at least ${limits.maxAgeText} ago (MAX_AGE):`;
  }
}

/** The retention rules besides the ages: stamps, newest versions, size quota. */
async function retentionRules(
  options: Options,
  limits: AgeLimits,
  out: Printer,
): Promise<RetentionRules> {
  if (options.keepNewest !== undefined && options.keepNewest < 1) {
    throw new CommandError(`--keep-newest must be at least 1, not ${options.keepNewest}`);
  }
  const maxSize = options.maxSize === undefined
    ? undefined
    : parseSize(options.maxSize, "MAX_SIZE");
  const keepHashes = options.keepStamps.length > 0
    ? await stampHashes(options.keepStamps, (m) => out.warn(m))
    : undefined;
  return { ...limits, keepHashes, keepNewest: options.keepNewest, maxSize };
}

/** The lines about the rules beyond the reference's ages, where they were asked for. */
function printPolicies(
  out: Printer,
  plan: CleanPlan,
  rules: RetentionRules,
  options: Options,
): void {
  if (rules.keepHashes) {
    out.info(
      `keeping ${plan.keptByStamps} archives whose hashes the stamps directories name ` +
        `(${rules.keepHashes.size} hashes)`,
    );
  }
  if (rules.keepNewest !== undefined) {
    out.info(
      `${archivesDoomedFor(plan, "older version")} more archives are not among the ` +
        `${rules.keepNewest} most recently used of their recipe/arch/task`,
    );
  }
  if (rules.maxSize !== undefined) {
    out.info(
      `${archivesDoomedFor(plan, "size quota")} more archives go to bring the cache to at most ` +
        `${options.maxSize} (${formatBytes(plan.bytesLeft)} left)`,
    );
  }
}

/** The files of `rows` of the plan's table, made one at a time. */
function* entriesOf(plan: CleanPlan, rows: Iterable<number>): Generator<Entry & { row: number }> {
  for (const row of rows) {
    const path = plan.table.path(row);
    yield { path, size: plan.table.size(row), mtime: plan.table.lastUse(row), row };
  }
}

export const clean: Command = {
  name: "clean",
  positionals: "TARGET",
  options: [
    "verbose",
    "dry-run",
    "jobs",
    "max-age",
    "max-sig-age",
    "keep-stamps",
    "keep-newest",
    "max-size",
    "filter",
    "arch",
    "s3-endpoint",
    "s3-path-style",
    "profile",
  ],
  optionHelp: {
    verbose: "print [DELETE] for every file deleted (with --dry-run: grouped by why it goes)",
    "dry-run": "print what would be deleted ([DELETE] lines) without deleting anything",
    "keep-newest": "also delete all but the N most recently used versions of each " +
      "recipe/arch/task (1: OE's --remove-duplicated). Careful with a cache that several " +
      "branches or releases share: their older versions go too",
    jobs: `deletions in flight at once (default ${defaultJobsText()})`,
  },
  description:
    "Deletes archives (.tgz, .tar.zst) last used at least MAX_AGE ago (default 1d). The last " +
    "use is the later of the modification time (on remotes the upload time; in a local " +
    "SSTATE_DIR bitbake touches what it uses) and the use that `upload` and `watch` record " +
    "on the target (see --refresh-after), so a cache never refreshed is cleaned by " +
    "modification time. --keep-stamps DIR keeps every artifact whose hash a bitbake stamps " +
    "directory names; --keep-newest N also deletes all but the N most recently used versions " +
    "of each recipe/arch/task; --max-size SIZE then deletes least recently used archives " +
    "(with their siginfo) until the cache is at most SIZE. A siginfo file is deleted together " +
    "with its archive, or once it was last used MAX_SIG_AGE ago (default MAX_AGE; never less " +
    "than MAX_AGE), " +
    "so signatures can be kept longer for `analyze`. Ages are N followed by w, d, h, m or s. " +
    "Files that are not sstate artifacts are never touched, except temporary files of killed " +
    "uploads once they are an hour old; directories left empty are removed at the end. On S3, " +
    "multipart uploads that interrupted runs left unfinished (holding their parts' storage) " +
    "are aborted once they are MAX_AGE old. Ctrl-C stops deleting and prints what was done so " +
    "far.",
  examples: [
    "isar-sstate clean --max-age 2w --max-sig-age 8w file:///mnt/sstate",
    "isar-sstate clean -v --dry-run --max-age 30d /mnt/sstate",
    "isar-sstate clean --max-age 4w --max-size 500G s3://bucket/sstate",
    "isar-sstate clean --keep-stamps build/tmp/stamps --keep-newest 2 /mnt/sstate",
  ],

  async run(ctx) {
    const location = requireTargetOnly(ctx);
    const { out, options } = ctx;
    const limits = ageLimits(options, out);
    const rules = await retentionRules(options, limits, out);
    const filter = makeFilter(options.filter, options.arch);
    const target = await openCache(location, options, out);
    try {
      const limiter = new Limiter(jobsOf(options, target));
      if (!(await target.exists({ signal: ctx.abort }))) {
        out.warn(`cannot access target ${target.displayUrl}. Nothing to clean.`);
        return 0;
      }
      out.info(`scanning ${target.displayUrl}`);
      const now = Date.now();
      const table = new ArtifactTable();
      let links = 0;
      // A listing thread would take about half what the table takes at a million files.
      const listOptions = {
        signal: ctx.abort,
        onWarning: (message: string) => out.warn(message),
        lean: true,
      };
      const { others, skipped } = await scanArtifacts(target, filter, listOptions, (batch) => {
        for (const a of batch) {
          table.add(a);
          if (a.isLink) links++;
        }
      });
      if (links > 0) out.line(`NOTE: ${links} artifacts are symbolic links`);
      const plan = planClean(table, rules, now);
      let siginfoDeleted = 0;
      for (let row = 0; row < table.length; row++) {
        if (plan.reasons[row] !== 0 && table.kind(row) === "siginfo") siginfoDeleted++;
      }
      out.info(
        `found ${plan.archives} archive files, ${archivesDoomedFor(plan, "age")} of which ` +
          `are older than ${limits.maxAgeText}`,
      );
      out.info(
        `found ${plan.siginfo} siginfo files, ${siginfoDeleted} of which ` +
          `correspond to old archive files or are older than ${limits.maxSigAgeText}`,
      );
      printPolicies(out, plan, rules, options);
      const temps = (target.tempFiles?.(others) ?? [])
        .filter((t) => t.orphaned || now - t.started >= STALE_TEMP_AGE_MS)
        .map(({ path, size, started }) => ({ path, size, mtime: started }));
      if (temps.length > 0) {
        out.info(`found ${temps.length} temporary files left by killed uploads`);
      }
      const uploads = await staleUploads(target, limits.maxAge, now, ctx.abort).catch((err) => {
        if (isAbortError(err) || ctx.abort.aborted) throw err;
        out.warn(`cannot list unfinished multipart uploads: ${describeError(err)}`);
        return [];
      });
      if (uploads.length > 0) {
        out.info(
          `found ${uploads.length} unfinished multipart uploads older than ${limits.maxAgeText} ` +
            "(left by interrupted uploads)",
        );
      }

      // The files to delete, made one at a time from the plan (a generator per pass).
      const groups = () => [
        entriesOf(plan, doomedRows(plan, "archives")),
        entriesOf(plan, doomedRows(plan, "others")),
        temps.map((t) => ({ ...t, row: -1 })),
      ];
      let doomedCount = temps.length;
      let doomedBytes = temps.reduce((s, t) => s + t.size, 0);
      for (let row = 0; row < table.length; row++) {
        if (plan.reasons[row] === 0) continue;
        doomedCount++;
        doomedBytes += table.size(row);
      }
      if (options.dryRun) {
        let shown: Reason | "temporary" | undefined;
        for (const a of groups().values().flatMap((group) => group)) {
          const reason = a.row < 0 ? "temporary" : reasonOf(plan, a.row)!;
          if (out.verbose && reason !== shown) {
            out.info(
              reason === "temporary"
                ? "temporary files left by killed uploads:"
                : reasonHeader(reason, limits, options),
            );
          }
          shown = reason;
          out.line(`[DELETE] ${a.path}`);
        }
        for (const u of uploads) out.line(`[ABORT] ${u.path}`);
        out.info(`dry run: would free ${formatGb(doomedBytes)} GB`);
        if (uploads.length > 0) {
          out.info(`dry run: would abort ${uploads.length} unfinished multipart uploads`);
        }
        return 0;
      }
      const started = Date.now();
      const progress = ctx.progress("deleting");
      progress.total(doomedCount);
      const tally = await deleteAll(target, groups(), ctx, limiter, (f) => progress.advance(0, f));
      progress.clear();
      let aborted: UploadsTally = { aborted: 0, failed: 0 };
      if (uploads.length > 0 && !ctx.stop.aborted) {
        aborted = await abortUploads(target, uploads, ctx, limiter);
        out.info(`aborted ${aborted.aborted} unfinished multipart uploads`);
      }
      if (target.pruneEmptyDirs && tally.deleted > 0 && !ctx.abort.aborted) {
        try {
          await target.pruneEmptyDirs(tally.dirs, { signal: ctx.abort });
        } catch (err) {
          if (!isAbortError(err)) {
            out.warn(`cannot remove empty directories: ${describeError(err)}`);
          }
        }
      }
      const freed = formatGb(tally.deletedBytes);
      out.info(`freed ${freed} GB`);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      out.info(
        `done: ${tally.deleted} deleted, ${tally.failed} failed, freed ${freed} GB ` +
          `in ${seconds}s`,
      );
      const notStarted = doomedCount - tally.deleted - tally.failed - tally.unknown;
      if (notStarted > 0) out.warn(`${notStarted} files were not deleted: the clean was stopped`);
      if (tally.unknown > 0) {
        out.warn(
          `${tally.unknown} files may or may not have been deleted: the clean was stopped while ` +
            "the target was deleting them",
        );
      }
      if (skipped > 0) out.warn(`${skipped} unreadable directories were skipped`);
      return tally.failed > 0 || aborted.failed > 0 ? 1 : 0;
    } finally {
      await target.close();
    }
  },
};
