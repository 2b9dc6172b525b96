/** `watch SOURCE TARGET [-- COMMAND ARGS...]`: upload new artifacts as soon as they appear. */
import { resolve } from "node:path";
import { describeError, isAbortError } from "../backends/backend.ts";
import { defaultJobsText, parseLocation } from "../backends/registry.ts";
import { schemeOf } from "../backends/url.ts";
import { parseDurationMs } from "../cache/age.ts";
import { makeFilter } from "../cache/filter.ts";
import { LocalCache } from "../cache/local_cache.ts";
import { Limiter } from "../sync/limiter.ts";
import { RemoteIndex } from "../sync/remote_index.ts";
import { type FlushSummary, Watcher } from "../sync/watch/watcher.ts";
import { SourceTree } from "../sync/watch/source_tree.ts";
import {
  type Command,
  type CommandContext,
  CommandError,
  jobsOf,
  localPathOf,
  openCache,
  type Printer,
  requireSourceAndTarget,
} from "./command.ts";
import { WatchReport } from "./watch_report.ts";

const DEFAULT_SETTLE_MS = 200;
const DEFAULT_RESCAN_S = 60;
/** After SIGINT/SIGTERM, the flush of a watch without a command takes at most this long. */
const FLUSH_TIMEOUT_MS = 60_000;
/** A flush gives up once the target has been unreachable this long. */
const OUTAGE_PATIENCE_MS = 60_000;

function inRange(value: number, option: string, min: number, max: number): number {
  if (value < min || value > max) {
    throw new CommandError(`${option} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/**
 * Where the target's index is kept: `--index-file` ('' for nowhere), else a file named after the
 * target in $XDG_CACHE_HOME/isar-sstate (~/.cache/isar-sstate).
 */
async function indexFileFor(
  option: string | undefined,
  location: string,
  displayUrl: string,
): Promise<string | undefined> {
  if (option !== undefined) {
    return option === "" ? undefined : resolve(localPathOf(option, "--index-file").path);
  }
  const home = Deno.env.get("HOME");
  const base = Deno.env.get("XDG_CACHE_HOME") || (home ? `${home}/.cache` : undefined);
  if (!base) return undefined;
  const key = schemeOf(location) === "file"
    ? parseLocation(location).parsed.displayUrl
    : displayUrl;
  const resolvedKey = key.startsWith("file://") ? `file://${resolve(key.slice(7))}` : key;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(resolvedKey));
  const hex = [...new Uint8Array(digest).slice(0, 8)]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${resolve(base)}/isar-sstate/watch-${hex}.index`;
}

/** The index an earlier run saved, if any (a damaged or unreadable one is a warning). */
async function loadIndex(file: string | undefined, out: Printer): Promise<RemoteIndex | undefined> {
  if (!file) return undefined;
  try {
    const index = await RemoteIndex.load(file);
    if (index.size === 0) return undefined;
    out.info(`using the index saved in ${file} (${index.size} files) until the listing is done`);
    return index;
  } catch (err) {
    out.warn(`cannot read the index ${file}: ${describeError(err)}; listing the target instead`);
    return undefined;
  }
}

/** Resolves when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/** Runs the wrapped build while watching; returns its exit code. */
async function runWrapped(
  ctx: CommandContext,
  argv: string[],
  report: WatchReport,
): Promise<number> {
  // Under --json stdout carries only JSON: the command's stdout goes to stderr.
  const passOn = ctx.options.json ? (data: Uint8Array) => ctx.out.passThrough(data) : undefined;
  const child = ctx.startChild(argv, passOn);
  report.statusShown = false; // the build owns the terminal while it runs
  report.info(`running ${child.display}`, "started", { command: argv });
  ctx.out.flush();
  ctx.onInterrupt((signal, fromTerminal) => child.forward(signal, fromTerminal));
  const code = await child.exitCode();
  report.info(`${child.display} exited with code ${code}`, "exited", { command: argv, code });
  return code;
}

export const watch: Command = {
  name: "watch",
  positionals: "SOURCE TARGET",
  options: [
    "verbose",
    "json",
    "jobs",
    "refresh-after",
    "filter",
    "arch",
    "settle",
    "rescan-interval",
    "index-file",
    "s3-endpoint",
    "s3-path-style",
    "profile",
  ],
  optionHelp: {
    verbose: "print every upload on a terminal too, and files the target had already",
    json: "print one JSON event per line: uploads, failures, outages, the summary",
    jobs: `files in flight at once (default ${defaultJobsText()})`,
  },
  description:
    "Uploads what TARGET lacks, exactly like upload, then watches SOURCE (a local SSTATE_DIR) " +
    "and uploads every new artifact within about a second of bitbake writing it, so that builds " +
    "on other hosts hit it at once. Bitbake's temporary files are never uploaded, and a new file " +
    "only once it has stopped changing (--settle); an archive goes after its siginfo. File " +
    "system events are taken as hints: new directories are read, lost events and a periodic " +
    "rescan (--rescan-interval) catch anything else, and where the inotify limit " +
    "(fs.inotify.max_user_watches) is reached rescans alone find new files. While TARGET is " +
    "unreachable the files wait and are retried with backoff (1s doubling to a minute); none is " +
    "dropped. Like upload, it refreshes (marks used) the artifacts TARGET has where the build " +
    "used them (--refresh-after): at the start, every hour, and when the command ends or the " +
    "watch stops. Wrong credentials or missing permission stop it with one error line (exit 1). With '-- COMMAND ARGS...' it runs the command (e.g. a bitbake build) while " +
    "watching, then uploads everything pending and exits with the command's exit code (1 if " +
    "the command succeeded but uploads failed). A Ctrl-C reaches the command directly; SIGTERM " +
    "is passed on to it (with --json, its stdout goes to stderr). Without a command it runs " +
    "until SIGINT or SIGTERM, then uploads what is pending (for at most a minute; a second " +
    "signal stops at once), prints a summary and exits with 0 once everything is uploaded (a " +
    "service's normal stop), with 130/143 if the stop left files behind. The " +
    "target's index is saved between runs (--index-file), so that a restart uploads new files " +
    "at once while the listing runs in the background; after any crash, the restart uploads " +
    "whatever was missed. Output: a timestamped line per upload in logs, a status line on a " +
    "terminal, JSON event lines with --json.",
  examples: [
    "isar-sstate watch build/sstate-cache /mnt/sstate -- bitbake mc:qemuarm64-bookworm:isar-image-base",
    "isar-sstate watch build/sstate-cache https://cache.example.com/sstate",
    "isar-sstate watch --json --settle 500 build/sstate-cache s3://bucket/sstate -- bitbake my-image",
  ],

  async run(ctx) {
    const { source: given, target: location } = requireSourceAndTarget(ctx);
    const { out, options } = ctx;
    const source = localPathOf(given, "source");
    const settleMs = inRange(options.settle ?? DEFAULT_SETTLE_MS, "--settle", 0, 600_000);
    const rescanS = inRange(
      options.rescanInterval ?? DEFAULT_RESCAN_S,
      "--rescan-interval",
      1,
      86_400,
    );
    const filter = makeFilter(options.filter, options.arch);
    const local = new SourceTree(new LocalCache(source.path, source.shown));
    const kind = await local.cache.rootKind();
    if (kind === "other") throw new CommandError(`source ${source.shown} is not a directory`);
    if (kind === "missing") {
      try {
        await Deno.mkdir(source.path, { recursive: true });
      } catch (err) {
        throw new CommandError(`cannot create source ${source.shown}: ${describeError(err)}`);
      }
      out.info(`created ${source.shown}, which did not exist yet`);
    }
    await local.cache.refuseTarget(location);
    const target = await openCache(location, options, out);
    let watcher: Watcher | undefined;
    try {
      const jobs = jobsOf(options, target);
      const indexFile = await indexFileFor(options.indexFile, location, target.displayUrl);
      const report = new WatchReport(out, ctx.status(), target.displayUrl, () => watcher!.counts);
      watcher = new Watcher({
        source: local,
        target,
        filter,
        limiter: new Limiter(jobs),
        settleMs,
        rescanIntervalMs: rescanS * 1000,
        previousIndex: await loadIndex(indexFile, out),
        indexFile,
        abort: ctx.abort,
        refreshAfterMs: parseDurationMs(options.refreshAfter, "REFRESH_AFTER"),
      }, report.observer);
      report.info(`watching ${source.shown}, uploading to ${target.displayUrl}`, "watching", {
        source: source.shown,
        target: target.displayUrl,
      });
      out.flush();
      watcher.start();
      let failed = false;
      const reconciled = watcher.reconciled.then(() => {}, (err) => {
        if (isAbortError(err) || watcher!.refusal) return;
        failed = true;
        out.error(`${describeError(err)}; new artifacts are still uploaded`);
      });
      let code = 0;
      let summary: FlushSummary;
      if (options.wrapped) {
        // A target that refuses us ends the uploads, not the build.
        watcher.refused.then((err) => {
          out.error(`${err.message}; nothing more is uploaded (the command goes on)`);
          report.event("refused", { error: err.message });
        });
        code = await runWrapped(ctx, options.wrapped, report);
        report.statusShown = true;
        report.phase = "uploading what is pending";
        report.refresh();
        summary = await watcher.flush({ outagePatienceMs: OUTAGE_PATIENCE_MS });
      } else {
        report.refresh();
        // Until interrupted; a failed reconciliation (reported above) ends the watch too.
        // A target that refuses us (credentials, permission) stops the watch with one line.
        await Promise.race([
          aborted(ctx.stop),
          reconciled.then(() => failed ? undefined : aborted(ctx.stop)),
          watcher.refused,
        ]);
        if (watcher.refusal) throw new CommandError(watcher.refusal.message);
        report.phase = "uploading what is pending";
        report.refresh();
        summary = await watcher.flush({
          giveUp: AbortSignal.timeout(FLUSH_TIMEOUT_MS),
          outagePatienceMs: OUTAGE_PATIENCE_MS,
        });
      }
      await reconciled;
      const uploadsFailed = failed || watcher.refusal !== undefined || summary.notUploaded > 0;
      // Without a command, SIGINT/SIGTERM is how the watch is asked to stop: once everything
      // is uploaded that is a success (a service manager sees a clean stop). A stop that cut
      // uploads short, and a wrapped build's interruption, exit with 130/143.
      if (!options.wrapped && !uploadsFailed && !summary.gaveUp) ctx.stopCompleted();
      const signalled = options.wrapped || uploadsFailed || summary.gaveUp
        ? ctx.signalExitCode()
        : undefined;
      // The summary's exit code is the process's.
      const exitCode = signalled ?? (code !== 0 ? code : uploadsFailed ? 1 : 0);
      report.summary(summary, exitCode);
      return exitCode;
    } finally {
      if (watcher) await watcher.close();
      else {
        await target.close();
        await local.close();
      }
    }
  },
};
