/** `lint TARGET`: find absolute build and source paths in signatures, which defeat sharing. */
import { type Backend, describeError, type ListOptions } from "../backends/backend.ts";
import { schemeOf } from "../backends/url.ts";
import { artifactKind } from "../cache/artifact.ts";
import { type ArtifactFilter, makeFilter } from "../cache/filter.ts";
import { listArtifacts } from "../cache/listing.ts";
import { parseStampName } from "../cache/stamps.ts";
import { fnmatchToRegExp } from "../cache/tasks.ts";
import { parseSiginfo, type SigInfo, SiginfoError } from "../siginfo/read.ts";
import { Limiter } from "../sync/limiter.ts";
import {
  type Command,
  type CommandContext,
  CommandError,
  jobsOf,
  openCache,
  type Printer,
  requireTargetOnly,
} from "./command.ts";
import { jsonDocument } from "./json_doc.ts";
import type { Options } from "./options.ts";

export { fnmatchToRegExp };

/** A signature file to lint, with the fields its name gives. */
interface SignatureRef {
  path: string;
  arch: string;
  pn: string;
  task: string;
  hash: string;
}

/** Where a leaked absolute path points. */
export type FindingKind = "sources-dir" | "build-dir" | "other";

/** One absolute path in a signature's variable values. */
export interface Finding {
  kind: FindingKind;
  variable: string;
  /** The value, without leading whitespace. */
  value: string;
  /** For SRC_URI: the `file:///…` entry that was classified. */
  srcUriEntry?: string;
}

/** The two path prefixes findings are classified by. */
export interface LintDirs {
  sourcesDir: string;
  buildDir: string;
}

/** Variables never checked, besides the signature's own ignore lists. */
const IGNORED_VARIABLES = new Set(["PP"]);

function classify(path: string, dirs: LintDirs): FindingKind {
  if (path.startsWith(dirs.buildDir)) return "build-dir";
  if (path.startsWith(dirs.sourcesDir)) return "sources-dir";
  return "other";
}

function ignored(name: string, sig: SigInfo): boolean {
  // The reference tests `name in taskhash_ignore_tasks`, a substring test on that regex string.
  return !/^\p{Lu}/u.test(name) || IGNORED_VARIABLES.has(name) ||
    sig.basehash_ignore_vars.has(name) || (sig.taskhash_ignore_tasks ?? "").includes(name);
}

/**
 * The absolute paths in a signature's upper-case variables: every `file:///` entry of SRC_URI,
 * and every other value that starts with `/` (after leading whitespace).
 */
export function findPathLeaks(sig: SigInfo, dirs: LintDirs): Finding[] {
  const findings: Finding[] = [];
  for (const [variable, raw] of Object.entries(sig.varvals)) {
    const value = raw?.trimStart() ?? "";
    if (value === "" || ignored(variable, sig)) continue;
    if (variable === "SRC_URI") {
      for (const entry of value.split(/\s+/)) {
        if (!entry.startsWith("file:///")) continue;
        const kind = classify(entry.slice("file://".length), dirs);
        findings.push({ kind, variable, value, srcUriEntry: entry });
      }
    } else if (value.startsWith("/")) {
      findings.push({ kind: classify(value, dirs), variable, value });
    }
  }
  return findings;
}

const RED = "\x1b[0;31m";
const BLUE = "\x1b[0;34m";
const YELLOW_BOLD = "\x1b[1;33m";
const RESET = "\x1b[0m";
const LABELS: Record<FindingKind, string> = {
  "build-dir": `${RED}-> path in build-dir:   `,
  "sources-dir": `${RED}-> path in sources-dir: `,
  other: `${BLUE}-> other absolute path: `,
};

/** A finding as the reference prints it (with colour codes). */
export function formatFinding(f: Finding): string {
  const what = f.srcUriEntry !== undefined
    ? `SRC_URI entry "${f.srcUriEntry}"`
    : `${f.variable} = "${f.value}"`;
  return `${LABELS[f.kind]}${what}${RESET}`;
}

/** The task patterns of `--excluded-tasks` (comma-separated). */
function excludedTaskPatterns(list: string): RegExp[] {
  return list.split(",").map((pattern) => {
    try {
      return fnmatchToRegExp(pattern);
    } catch {
      throw new CommandError(`invalid --excluded-tasks pattern '${pattern}'`);
    }
  });
}

/** Every signature of the target, sorted by path, one per hash (the reference keys by hash). */
async function listSignatures(
  target: Backend,
  stamps: boolean,
  filter: ArtifactFilter,
  options: ListOptions,
): Promise<SignatureRef[]> {
  const found: SignatureRef[] = [];
  if (stamps) {
    for await (const batch of target.list(options)) {
      for (const entry of batch) {
        const name = parseStampName(entry.path);
        if (name && filter(name)) found.push({ path: entry.path, ...name });
      }
    }
  } else {
    const { artifacts } = await listArtifacts(target, filter, options);
    for (const { path, arch, pn, task, hash, suffix } of artifacts) {
      if (artifactKind(suffix) === "siginfo") found.push({ path, arch, pn, task, hash });
    }
  }
  found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const seen = new Set<string>();
  return found.filter((s) => !seen.has(s.hash) && seen.add(s.hash));
}

/** What linting one signature gave: findings, or why the file could not be read. */
interface LintResult {
  sig: SignatureRef;
  findings: Finding[];
  problem?: string;
}

async function lintOne(
  target: Backend,
  sig: SignatureRef,
  dirs: LintDirs,
  signal: AbortSignal,
): Promise<LintResult> {
  try {
    const bytes = await target.read(sig.path, { signal });
    if (bytes === null) return { sig, findings: [], problem: "disappeared while linting" };
    return { sig, findings: findPathLeaks(parseSiginfo(bytes, sig.path), dirs) };
  } catch (err) {
    const problem = err instanceof SiginfoError
      ? err.message.slice(err.file.length + 2)
      : `cannot read: ${describeError(err)}`;
    return { sig, findings: [], problem };
  }
}

/**
 * Lints `sigs` through the limiter, handing the results to `report` in the order given; stops
 * starting new files at the first Ctrl-C. Returns how many were reported.
 */
async function lintInOrder(
  target: Backend,
  sigs: readonly SignatureRef[],
  settings: { dirs: LintDirs; limiter: Limiter; ctx: CommandContext },
  report: (result: LintResult) => void,
): Promise<number> {
  const { ctx } = settings;
  const results: LintResult[] = [];
  let reported = 0;
  const indexed = sigs.map((sig, index) => ({ sig, index }));
  await settings.limiter.forEach(indexed, async ({ sig, index }) => {
    const result = await lintOne(target, sig, settings.dirs, ctx.abort);
    if (ctx.abort.aborted) return;
    results[index] = result;
    while (reported < sigs.length && results[reported]) report(results[reported++]);
  }, ctx.stop);
  return reported;
}

function printResult(out: Printer, result: LintResult, verbose: boolean): void {
  const { sig, findings, problem } = result;
  if (problem !== undefined) out.warn(`${sig.path}: ${problem}`);
  const shown = findings.filter((f) => verbose || f.kind !== "other");
  if (shown.length === 0) return;
  out.line(
    `${YELLOW_BOLD}==== issues found in ${sig.arch}:${sig.pn}:${sig.task} ` +
      `(${sig.hash.slice(0, 8)}) ====${RESET}`,
  );
  for (const f of shown) out.line(formatFinding(f));
}

function exitCodeOption(options: Options): number | undefined {
  const code = options.exitCode;
  if (code !== undefined && (code < 0 || code > 255)) {
    throw new CommandError(`--exit-code must be between 0 and 255, got ${code}`);
  }
  return code;
}

export const lint: Command = {
  name: "lint",
  positionals: "TARGET",
  options: [
    "verbose",
    "json",
    "filter",
    "arch",
    "jobs",
    "sources-dir",
    "build-dir",
    "excluded-tasks",
    "pedantic",
    "lint-stamps",
    "exit-code",
    "color",
    "s3-endpoint",
    "s3-path-style",
    "profile",
  ],
  optionHelp: {
    verbose: "also list absolute paths outside the sources and build directories",
    jobs: "signature files read at once (default 8)",
    json: "print every finding, including other absolute paths, as JSON",
  },
  description: "Reads every siginfo file of TARGET (with --lint-stamps: every *.sigdata.<hash> " +
    "file of a bitbake stamps directory, a local path) and reports upper-case variables whose " +
    "value is an absolute path, and file:/// entries of SRC_URI: such paths are part of the " +
    "hash, so the task cannot be reused by a build in another directory. Paths below --build-dir " +
    "or --sources-dir are issues; other absolute paths are counted and, with -v, listed. " +
    "Variables in the signature's ignore lists and PP are skipped, and so are tasks matching " +
    "--excluded-tasks (fnmatch patterns; --pedantic checks them too). Signatures with the same " +
    "hash are checked once. The exit code is the number of build-dir and sources-dir issues, at " +
    "most 255 (so that it never wraps to 0), or N with --exit-code N. A missing TARGET or " +
    "stamps directory is an error (exit 1), so that a lint step with a wrong path fails. " +
    "Unlike the reference tool, this also reads bitbake 1.x (pickle) signatures, reports " +
    "unreadable signature files as warnings (and counts them in the summary) instead of " +
    "skipping them silently, reads signatures in parallel (--jobs) and prints them sorted by " +
    "path. --json prints every finding, including other absolute paths.",
  examples: [
    "isar-sstate lint --sources-dir /work/ --build-dir /build/tmp/ file:///mnt/sstate",
    "isar-sstate lint --lint-stamps -v /build/tmp/stamps",
    "isar-sstate lint --pedantic --exit-code 0 --filter 'linux-' /mnt/sstate",
    "isar-sstate lint --json --excluded-tasks 'image_*,rootfs_wicenv' /mnt/sstate",
  ],

  async run(ctx) {
    const location = requireTargetOnly(ctx);
    const { out, options } = ctx;
    if (options.lintStamps && schemeOf(location) !== "file") {
      throw new CommandError("--lint-stamps only works with local file targets");
    }
    const exitCode = exitCodeOption(options);
    const jobs = jobsOf(options);
    const filter = makeFilter(options.filter, options.arch);
    const excluded = options.pedantic ? [] : excludedTaskPatterns(options.excludedTasks);
    const target = await openCache(location, options, out);
    const counts: Record<FindingKind, number> = { "sources-dir": 0, "build-dir": 0, other: 0 };
    const issues: (SignatureRef & { findings: Finding[] })[] = [];
    const unreadable: { path: string; problem: string }[] = [];
    let sigs: SignatureRef[];
    try {
      if (!(await target.exists({ signal: ctx.abort }))) {
        // The Python tool warns and exits 0: a CI lint step with a wrong path would pass.
        const what = options.lintStamps ? "stamps directory" : "target";
        throw new CommandError(`${what} ${target.displayUrl} does not exist: nothing to lint`);
      }
      const onWarning = (message: string) => out.warn(message);
      sigs = await listSignatures(target, options.lintStamps, filter, {
        signal: ctx.abort,
        onWarning,
      });
      const toLint = sigs.filter((s) => !excluded.some((re) => re.test(s.task)));
      const dirs = { sourcesDir: options.sourcesDir, buildDir: options.buildDir };
      const progress = ctx.progress("linting");
      progress.total(toLint.length);
      const limiter = new Limiter(jobs);
      const linted = await lintInOrder(target, toLint, { dirs, limiter, ctx }, (result) => {
        progress.advance();
        if (result.problem !== undefined) {
          unreadable.push({ path: result.sig.path, problem: result.problem });
        }
        for (const f of result.findings) counts[f.kind]++;
        if (result.findings.length > 0) issues.push({ ...result.sig, findings: result.findings });
        if (!options.json) printResult(out, result, options.verbose);
      });
      progress.clear();
      if (linted < toLint.length) {
        out.warn(`${toLint.length - linted} signatures were not linted: the run was stopped`);
      }
    } finally {
      await target.close();
    }

    const hits = counts["sources-dir"] + counts["build-dir"];
    if (options.json) {
      const json = jsonDocument({
        target: target.displayUrl,
        scanned: sigs.length,
        issues,
        counts,
        unreadable,
      });
      out.line(JSON.stringify(json, null, 2));
    } else {
      const scanned = `scanned ${sigs.length} signatures` +
        (unreadable.length > 0 ? `, ${unreadable.length} unreadable` : "");
      if (hits === 0) out.line(`no cachability issues found (${scanned})`);
      else {
        out.line(`found cachability issues (${scanned})`);
        out.line(
          `-> absolute paths: sources-dir ${counts["sources-dir"]}, ` +
            `build-dir ${counts["build-dir"]}, other ${counts.other}`,
        );
      }
    }
    return exitCode ?? Math.min(hits, 255);
  },
};
