/** `upload SOURCE TARGET`: copy local artifacts that the target lacks. */
import { openBackend } from "../backends/factory.ts";
import type { Artifact } from "../cache/artifact.ts";
import { FileBackend } from "../backends/file.ts";
import type { Backend } from "../backends/backend.ts";
import { makeFilter } from "../cache/filter.ts";
import { formatGb, listArtifacts } from "../cache/listing.ts";
import { CliError, describeError } from "../cli/errors.ts";
import { formatBytes, Progress } from "../cli/progress.ts";
import { installInterruptHandlers } from "../sync/interrupt.ts";
import { executeUpload, planUpload } from "../sync/upload.ts";
import { type Command, jobsOf, requireSourceAndTarget } from "./command.ts";

async function isDirectory(path: string): Promise<boolean | null> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw new CliError(`cannot access source ${path}: ${describeError(err)}`);
  }
}

/** Fills in the sizes of the files to upload (the listing skipped them: most are present). */
function measureSizes(root: string, artifacts: Artifact[]): void {
  for (const a of artifacts) {
    try {
      a.size = Deno.statSync(`${root}/${a.path}`).size;
    } catch {
      // vanished since the listing: its upload reports the failure
    }
  }
}

async function remotePaths(target: Backend, exists: boolean): Promise<Set<string>> {
  const paths = new Set<string>();
  if (!exists) return paths;
  for await (const entry of target.list({ metadata: false })) paths.add(entry.path);
  return paths;
}

export const upload: Command = {
  name: "upload",
  summary: "upload local sstate artifacts that the remote cache does not have yet",
  positionals: "SOURCE TARGET",
  options: ["verbose", "quiet", "dry-run", "jobs", "filter", "arch"],
  description:
    "Lists SOURCE (a local SSTATE_DIR) and TARGET once each, then uploads every artifact that " +
    "TARGET lacks, JOBS at a time, siginfo files before their archives. Files that are not sstate " +
    "artifacts (bitbake's temporary files, locks, anything else) are never uploaded. Each file " +
    "appears on TARGET complete or not at all. A missing SOURCE is a warning, not an error, so " +
    "CI jobs that built nothing still pass. The exit code is 1 if any file failed.",
  examples: [
    "isar-sstate upload build/sstate-cache file:///mnt/sstate",
    "isar-sstate upload -v --dry-run build/sstate-cache /mnt/sstate",
    "isar-sstate upload --filter 'linux-' --arch arm64 -j 16 build/sstate-cache /mnt/sstate",
  ],

  async run(ctx) {
    const { source, target: location } = requireSourceAndTarget(ctx);
    const { out, options } = ctx;
    const filter = makeFilter(options.filter, options.arch);
    const target = openBackend(location);
    const jobs = jobsOf(options, target);

    const sourceIsDirectory = await isDirectory(source);
    if (sourceIsDirectory === false) throw new CliError(`source ${source} is not a directory`);
    if (sourceIsDirectory === null) {
      out.warn(`source ${source} does not exist. Not uploading.`);
      return 0;
    }
    let targetExists = await target.exists();
    if (!targetExists && !options.dryRun) {
      try {
        await target.create();
        targetExists = true;
      } catch (err) {
        throw new CliError(
          `target ${target.displayUrl} does not exist and could not be created: ${
            describeError(err)
          }`,
        );
      }
    }

    out.info(`uploading ${source} to ${target.displayUrl}`);
    const local = new FileBackend(source);
    const [listing, remote] = await Promise.all([
      listArtifacts(local, filter, { metadata: false }),
      remotePaths(target, targetExists),
    ]);
    const plan = planUpload(listing.artifacts, remote);
    measureSizes(local.root, plan.missing);
    for (const a of plan.present) out.detail(`[EXISTS] ${a.path}`);
    const totalBytes = plan.missing.reduce((sum, a) => sum + a.size, 0);
    out.info(`uploading ${plan.missing.length} files (${formatGb(totalBytes)} GB)`);
    out.info(`${plan.present.length} files already present on target`);
    if (listing.otherFiles > 0) {
      out.info(`skipping ${listing.otherFiles} files that are not sstate artifacts`);
    }

    if (options.dryRun) {
      for (const a of plan.missing) out.line(`[UPLOAD] ${a.path}`);
      out.info(`dry run: nothing was uploaded`);
      return 0;
    }

    const progress = new Progress(
      "uploading",
      plan.missing.length,
      totalBytes,
      ctx.interactive && !options.quiet,
    );
    out.beforeWrite = () => progress.clear();
    installInterruptHandlers(() => {
      progress.clear();
      out.flush();
    });
    out.flush(); // the plan is on screen before the first byte moves
    const started = Date.now();
    const result = await executeUpload(plan.missing, {
      sourceRoot: local.root,
      target,
      jobs,
      observer: {
        started: (a) => out.detail(`[UPLOAD] ${a.path}`),
        finished: (a) => progress.advance(a.size),
        failed: (a, message) => {
          out.error(`upload of ${a.path} failed: ${message}`);
          progress.advance(a.size, true);
        },
      },
    });
    out.flush();
    progress.clear();
    const seconds = (Date.now() - started) / 1000;
    out.info(
      `done: ${result.uploaded} uploaded (${formatBytes(result.uploadedBytes)}), ` +
        `${plan.present.length} present, ${listing.otherFiles} skipped, ` +
        `${result.failures.length} failed in ${seconds.toFixed(1)}s`,
    );
    await target.close();
    return result.failures.length > 0 ? 1 : 0;
  },
};
