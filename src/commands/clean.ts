/** `clean TARGET`: delete old archives, and siginfo files that are older still or orphaned. */
import { describeError, type Entry, isAbortError, parentOf } from "../backends/backend.ts";
import { defaultJobsText } from "../backends/registry.ts";
import { archivePathOf, type Artifact, artifactKind } from "../cache/artifact.ts";
import { parseAge } from "../cache/age.ts";
import { makeFilter } from "../cache/filter.ts";
import { listArtifacts } from "../cache/listing.ts";
import { formatGb } from "../cache/units.ts";
import { Limiter } from "../sync/limiter.ts";
import { abortUploads, deleteAll, staleUploads, type UploadsTally } from "./clean_delete.ts";
import { type Command, jobsOf, openCache, type Printer, requireTargetOnly } from "./command.ts";
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

/** What a clean deletes: archives past max-age, and their siginfo and signatures. */
export interface CleanPlan {
  archives: Artifact[];
  siginfo: Artifact[];
  deleteArchives: Artifact[];
  deleteOthers: Artifact[];
}

/**
 * Archives at least `maxAge` seconds old go; a siginfo goes with its archive or when at least
 * `maxSigAge` old; a detached signature goes with its archive or when at least `maxAge` old.
 */
export function planClean(
  artifacts: readonly Artifact[],
  limits: AgeLimits,
  now: number,
): CleanPlan {
  const age = (a: Artifact) => Math.floor((now - a.mtime) / 1000);
  const archives = artifacts.filter((a) => artifactKind(a.suffix) === "archive");
  const siginfo = artifacts.filter((a) => artifactKind(a.suffix) === "siginfo");
  const signatures = artifacts.filter((a) => artifactKind(a.suffix) === "signature");
  const deleteArchives = archives.filter((a) => age(a) >= limits.maxAge);
  const gone = new Set(deleteArchives.map((a) => a.path));
  const deleteOthers = [
    ...siginfo.filter((a) => age(a) >= limits.maxSigAge || gone.has(archivePathOf(a))),
    ...signatures.filter((a) => age(a) >= limits.maxAge || gone.has(archivePathOf(a))),
  ];
  return { archives, siginfo, deleteArchives, deleteOthers };
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
    "filter",
    "arch",
    "s3-endpoint",
    "s3-path-style",
    "profile",
  ],
  optionHelp: {
    verbose: "print [DELETE] for every file deleted",
    "dry-run": "print what would be deleted ([DELETE] lines) without deleting anything",
    jobs: `deletions in flight at once (default ${defaultJobsText()})`,
  },
  description:
    "Deletes archives (.tgz, .tar.zst) at least MAX_AGE old (default 1d; the age of an upload " +
    "on a remote, of the last use in a local SSTATE_DIR). A siginfo file is deleted together " +
    "with its archive, or once it is MAX_SIG_AGE old (default MAX_AGE; never less than MAX_AGE), " +
    "so signatures can be kept longer for `analyze`. Ages are N followed by w, d, h, m or s. " +
    "Files that are not sstate artifacts are never touched, except temporary files of killed " +
    "uploads once they are an hour old; directories left empty are removed at the end. On S3, " +
    "multipart uploads that interrupted runs left unfinished (holding their parts' storage) " +
    "are aborted once they are MAX_AGE old. Ctrl-C stops deleting and prints what was done so " +
    "far.",
  examples: [
    "isar-sstate clean --max-age 2w --max-sig-age 8w file:///mnt/sstate",
    "isar-sstate clean -v --dry-run --max-age 30d /mnt/sstate",
  ],

  async run(ctx) {
    const location = requireTargetOnly(ctx);
    const { out, options } = ctx;
    const limits = ageLimits(options, out);
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
      const { artifacts, others, skipped } = await listArtifacts(target, filter, {
        signal: ctx.abort,
        onWarning: (message) => out.warn(message),
      });
      const links = artifacts.filter((a) => a.isLink);
      if (links.length > 0) out.line(`NOTE: ${links.length} artifacts are symbolic links`);
      const plan = planClean(artifacts, limits, now);
      const siginfoDeleted = plan.deleteOthers.filter((a) => artifactKind(a.suffix) === "siginfo");
      out.info(
        `found ${plan.archives.length} archive files, ${plan.deleteArchives.length} of which ` +
          `are older than ${limits.maxAgeText}`,
      );
      out.info(
        `found ${plan.siginfo.length} siginfo files, ${siginfoDeleted.length} of which ` +
          `correspond to old archive files or are older than ${limits.maxSigAgeText}`,
      );
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

      const groups = [plan.deleteArchives, plan.deleteOthers, temps];
      const doomed = groups.flat();
      const bytes = (items: readonly Entry[]) => items.reduce((s, a) => s + a.size, 0);
      if (options.dryRun) {
        for (const a of doomed) out.line(`[DELETE] ${a.path}`);
        for (const u of uploads) out.line(`[ABORT] ${u.path}`);
        out.info(`dry run: would free ${formatGb(bytes(doomed))} GB`);
        if (uploads.length > 0) {
          out.info(`dry run: would abort ${uploads.length} unfinished multipart uploads`);
        }
        return 0;
      }
      const started = Date.now();
      const progress = ctx.progress("deleting");
      progress.total(doomed.length);
      const tally = await deleteAll(target, groups, ctx, limiter, (f) => progress.advance(0, f));
      progress.clear();
      let aborted: UploadsTally = { aborted: 0, failed: 0 };
      if (uploads.length > 0 && !ctx.stop.aborted) {
        aborted = await abortUploads(target, uploads, ctx, limiter);
        out.info(`aborted ${aborted.aborted} unfinished multipart uploads`);
      }
      if (target.pruneEmptyDirs && tally.deleted.length > 0 && !ctx.abort.aborted) {
        const dirs = new Set(tally.deleted.map((a) => parentOf(a.path)));
        try {
          await target.pruneEmptyDirs(dirs, { signal: ctx.abort });
        } catch (err) {
          if (!isAbortError(err)) {
            out.warn(`cannot remove empty directories: ${describeError(err)}`);
          }
        }
      }
      const freed = formatGb(bytes(tally.deleted));
      out.info(`freed ${freed} GB`);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      out.info(
        `done: ${tally.deleted.length} deleted, ${tally.failed} failed, freed ${freed} GB ` +
          `in ${seconds}s`,
      );
      const notStarted = doomed.length - tally.deleted.length - tally.failed - tally.unknown;
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
