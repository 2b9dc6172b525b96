/** `clean TARGET`: delete old archives, and siginfo files that are older still or orphaned. */
import { openBackend } from "../backends/factory.ts";
import { archivePathOf, type Artifact, artifactKind } from "../cache/artifact.ts";
import { parseAge } from "../cache/age.ts";
import { makeFilter } from "../cache/filter.ts";
import { formatGb, listArtifacts } from "../cache/listing.ts";
import type { Options } from "../cli/args.ts";
import type { Output } from "../cli/output.ts";
import { describeError } from "../cli/errors.ts";
import { runPool } from "../sync/pool.ts";
import { withRetry } from "../sync/retry.ts";
import { type Command, jobsOf, requireTargetOnly } from "./command.ts";

/** The effective age limits, in seconds, with the texts to print for them. */
interface AgeLimits {
  maxAge: number;
  maxAgeText: string;
  maxSigAge: number;
  maxSigAgeText: string;
}

function ageLimits(options: Options, out: Output): AgeLimits {
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
  summary: "delete archives older than --max-age and siginfo older than --max-sig-age",
  positionals: "TARGET",
  options: ["verbose", "quiet", "dry-run", "jobs", "max-age", "max-sig-age", "filter", "arch"],
  description:
    "Deletes archives (.tgz, .tar.zst) at least MAX_AGE old (default 1d; the age of an upload " +
    "on a remote, of the last use in a local SSTATE_DIR). A siginfo file is deleted together " +
    "with its archive, or once it is MAX_SIG_AGE old (default MAX_AGE; never less than MAX_AGE), " +
    "so signatures can be kept longer for `analyze`. Ages are N followed by w, d, h, m or s. " +
    "Files that are not sstate artifacts are never touched; directories left empty are removed.",
  examples: [
    "isar-sstate clean --max-age 2w --max-sig-age 8w file:///mnt/sstate",
    "isar-sstate clean -v --dry-run --max-age 30d /mnt/sstate",
  ],

  async run(ctx) {
    const location = requireTargetOnly(ctx);
    const { out, options } = ctx;
    const limits = ageLimits(options, out);
    const filter = makeFilter(options.filter, options.arch);
    const target = openBackend(location);
    const jobs = jobsOf(options, target);
    if (!(await target.exists())) {
      out.warn(`cannot access target ${target.displayUrl}. Nothing to clean.`);
      return 0;
    }
    out.info(`scanning ${target.displayUrl}`);
    const { artifacts } = await listArtifacts(target, filter);
    const links = artifacts.filter((a) => a.isLink);
    if (links.length > 0) out.line(`NOTE: ${links.length} artifacts are symbolic links`);
    const plan = planClean(artifacts, limits, Date.now());
    const siginfoDeleted = plan.deleteOthers.filter((a) => artifactKind(a.suffix) === "siginfo");
    out.info(
      `found ${plan.archives.length} archive files, ${plan.deleteArchives.length} of which are ` +
        `older than ${limits.maxAgeText}`,
    );
    out.info(
      `found ${plan.siginfo.length} siginfo files, ${siginfoDeleted.length} of which correspond ` +
        `to old archive files or are older than ${limits.maxSigAgeText}`,
    );

    const doomed = [...plan.deleteArchives, ...plan.deleteOthers];
    const freed = (items: Artifact[]) => items.reduce((s, a) => s + a.size, 0);
    if (options.dryRun) {
      for (const a of doomed) out.line(`[DELETE] ${a.path}`);
      out.info(`dry run: would free ${formatGb(freed(doomed))} GB`);
      return 0;
    }
    const deleted: Artifact[] = [];
    let failures = 0;
    await runPool(doomed, jobs, async (a) => {
      try {
        out.detail(`[DELETE] ${a.path}`);
        await withRetry(() => target.delete(a.path));
        deleted.push(a);
      } catch (err) {
        failures++;
        out.error(`cannot delete ${a.path}: ${describeError(err)}`);
      }
    });
    await target.close();
    out.info(`freed ${formatGb(freed(deleted))} GB`);
    return failures > 0 ? 1 : 0;
  },
};
