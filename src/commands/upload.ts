/** `upload SOURCE TARGET`: copy local artifacts that the target lacks. */
import { describeError } from "../backends/backend.ts";
import { defaultJobsText } from "../backends/registry.ts";
import { parseDurationMs } from "../cache/age.ts";
import { makeFilter } from "../cache/filter.ts";
import { LocalCache } from "../cache/local_cache.ts";
import { formatBytes, formatGb } from "../cache/units.ts";
import { Limiter } from "../sync/limiter.ts";
import { runUpload, type UploadPlan } from "../sync/upload.ts";
import {
  type Command,
  CommandError,
  jobsOf,
  localPathOf,
  openCache,
  type Printer,
  requireSourceAndTarget,
} from "./command.ts";

/** Prints the plan lines (the reference's), then the verbose lines held back until now. */
function printPlan(out: Printer, plan: UploadPlan, held: string[], window: string): void {
  out.info(`uploading ${plan.missing} files (${formatGb(plan.missingBytes)} GB)`);
  out.info(`${plan.present} files already present on target`);
  if (plan.refresh > 0) {
    out.info(
      `refreshing ${plan.refresh} of them: used here more than ${window} after their last use ` +
        "on target",
    );
  }
  if (plan.otherFiles > 0) {
    out.info(`skipping ${plan.otherFiles} files that are not sstate artifacts`);
  }
  for (const line of held) out.line(line);
}

export const upload: Command = {
  name: "upload",
  positionals: "SOURCE TARGET",
  options: [
    "verbose",
    "dry-run",
    "jobs",
    "refresh-after",
    "filter",
    "arch",
    "s3-endpoint",
    "s3-path-style",
    "profile",
  ],
  optionHelp: {
    verbose: "print [EXISTS] for every file the target has, [UPLOAD] for every file sent and " +
      "[REFRESH] for every file marked used",
    "dry-run": "print what would be uploaded ([UPLOAD] lines) and refreshed ([REFRESH]) " +
      "without changing the target",
    jobs: `files in flight at once (default ${defaultJobsText()})`,
  },
  description:
    "Lists SOURCE (a local SSTATE_DIR) and TARGET once each, then uploads every artifact that " +
    "TARGET lacks, JOBS at a time; each archive only after its own siginfo is stored, and not " +
    "at all if that failed. Uploads start while SOURCE is still being read. Files that are not " +
    "sstate artifacts (bitbake's temporary files, locks, anything else) are never uploaded. " +
    "Each file appears on TARGET complete or not at all, and an artifact already there (uploaded " +
    "meanwhile by another host) is never replaced. Temporary files that a killed upload from " +
    "this host left on TARGET are removed first. A missing SOURCE is a warning, not an error, " +
    "so CI jobs that built nothing still pass. Artifacts TARGET has are marked used there " +
    "(refreshed: file:// modification time, WebDAV property, S3 copy onto itself; no data is " +
    "sent) when SOURCE holds them with a modification time (bitbake touches what it uses) more " +
    "than REFRESH_AFTER (default 1d) after their last use on TARGET, so that clean's MAX_AGE " +
    "keeps what builds use. A refresh that finds the file gone uploads it. Ctrl-C lets the files in progress finish and " +
    "prints the summary (a second Ctrl-C stops at once). The exit code is 1 if any file failed.",
  examples: [
    "isar-sstate upload build/sstate-cache file:///mnt/sstate",
    "isar-sstate upload -v --dry-run build/sstate-cache /mnt/sstate",
    "isar-sstate upload --filter 'linux-' --arch arm64 -j 16 build/sstate-cache /mnt/sstate",
    "isar-sstate upload --refresh-after 12h build/sstate-cache s3://bucket/sstate",
    "isar-sstate upload --refresh-after 0 build/sstate-cache /mnt/sstate   # no refreshes",
  ],

  async run(ctx) {
    const { source: given, target: location } = requireSourceAndTarget(ctx);
    const { out, options } = ctx;
    const source = localPathOf(given, "source");
    const filter = makeFilter(options.filter, options.arch);
    const refreshAfterMs = parseDurationMs(options.refreshAfter, "REFRESH_AFTER");
    // Its note on skipped links is no unreadable part (which the summary counts).
    const local = new LocalCache(source.path, source.shown, {
      onNote: (message) => out.warn(message),
    });
    const kind = await local.rootKind();
    if (kind === "other") throw new CommandError(`source ${source.shown} is not a directory`);
    if (kind === "missing") {
      out.warn(`source ${source.shown} does not exist. Not uploading.`);
      return 0;
    }
    await local.refuseTarget(location);
    const target = await openCache(location, options, out);
    try {
      const jobs = jobsOf(options, target);
      // A target created here is empty: there is nothing to list.
      const targetExists = await target.exists({ signal: ctx.abort });
      if (!targetExists && !options.dryRun) {
        try {
          await target.create({ signal: ctx.abort });
        } catch (err) {
          throw new CommandError(
            `target ${target.displayUrl} does not exist and could not be created: ${
              describeError(err)
            }`,
          );
        }
      }
      out.info(`uploading ${source.shown} to ${target.displayUrl}`);
      out.flush();

      // Copies start while the source is walked: until the walk is done the line counts them.
      const progress = ctx.progress("listing");
      progress.phase("listing");
      let planned = false;
      const held: string[] = [];
      const detail = (line: string) => {
        if (!out.verbose) return;
        if (planned) out.line(line);
        else held.push(line);
      };
      const started = Date.now();
      const summary = await runUpload({
        source: local,
        target,
        targetExists,
        filter,
        limiter: new Limiter(jobs),
        dryRun: options.dryRun,
        refreshAfterMs,
        stop: ctx.stop,
        abort: ctx.abort,
      }, {
        present: (a) => out.detail(`[EXISTS] ${a.path}`),
        wouldUpload: (a) => held.push(`[UPLOAD] ${a.path}`),
        wouldRefresh: (a) => held.push(`[REFRESH] ${a.path}`),
        started: (a) => detail(`[UPLOAD] ${a.path}`),
        refreshing: (a) => detail(`[REFRESH] ${a.path}`),
        refreshUnsupported: (err) => out.warn(`${err.message}; uploading without refreshes`),
        stored: (a) => progress.advance(a.size),
        existed: (a) => progress.advance(a.size),
        failed: (a, message) => {
          out.error(`upload of ${a.path} failed: ${message}`);
          progress.advance(a.size, true);
        },
        targetFailed: (err) => out.error(`${err.message}; stopping the upload`),
        warning: (message) => out.warn(message),
        removedOrphans: (n) =>
          out.info(`removed ${n} temporary files left on the target by killed uploads`),
        planned: (plan) => {
          printPlan(out, plan, held.splice(0), options.refreshAfter);
          planned = true;
          if (!options.dryRun) {
            progress.phase("copying");
            progress.total(plan.missing, plan.missingBytes);
          }
        },
      });
      progress.clear();
      if (options.dryRun) {
        out.info(`dry run: nothing was uploaded${summary.plan.refresh > 0 ? " or refreshed" : ""}`);
        return 0;
      }
      const { plan, totals } = summary;
      const seconds = (Date.now() - started) / 1000;
      out.info(
        `done: ${totals.stored} uploaded (${formatBytes(totals.storedBytes)}), ` +
          `${plan.present + totals.existed} present, ${totals.refreshed} refreshed, ` +
          `${plan.otherFiles} skipped, ` +
          `${totals.failed} failed in ${seconds.toFixed(1)}s`,
      );
      if (summary.warnings > 0) {
        out.warn(`skipped ${summary.warnings} unreadable parts of the caches (see above)`);
      }
      if (totals.notStarted > 0) {
        out.warn(`${totals.notStarted} files were not uploaded: the upload was stopped`);
      }
      if (totals.unknown > 0) {
        out.warn(
          `${totals.unknown} files may or may not have been uploaded: the upload was stopped ` +
            "while they were sent, and the target did not tell in time",
        );
      }
      return totals.failed > 0 || summary.targetError ? 1 : 0;
    } finally {
      await target.close();
      await local.close();
    }
  },
};
