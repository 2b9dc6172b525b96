/**
 * Signature benchmark: `isar-sstate analyze` of a developer build against a shared cache holding
 * two CI builds (generated caches, real bitbake 2.8 siginfo), with and without parallel reads,
 * plus single-file `dump` and recursive `diff`, against the tool's bare start-up time.
 */
import { join } from "node:path";
import { type ExampleCacheResult, makeExampleCache } from "../make-example-cache.ts";
import { type BenchContext, tally } from "./context.ts";
import type { BenchSection, Target } from "./results.ts";
import {
  type BenchCase,
  fmtRatio,
  fmtSeconds,
  median,
  ratio,
  type RunResult,
  timeAlternating,
} from "./timing.ts";

const KEY_TASKS = new Set(["dpkg_build", "rootfs_install", "bootstrap"]);
const ANALYZE = "isar-sstate analyze (8 jobs)";
const ANALYZE_SEQ = "isar-sstate analyze -j 1";
const DIFF = "isar-sstate diff, following dependencies";
const DUMP = "isar-sstate dump";
const STARTUP = "isar-sstate --version (start-up only)";

/** Local items analyze reports: key-task siginfo files, one per hash. */
function keyItems(cache: ExampleCacheResult): number {
  const hashes = cache.tasks.filter((t) => t.siginfo && KEY_TASKS.has(t.task))
    .map((t) => t.sig.unihash);
  return new Set(hashes).size;
}

/**
 * A deploy_deb whose hash differs between two builds, its two siginfo paths: diff follows its
 * changed dependencies down to the changed variable.
 */
function changedPackage(
  before: ExampleCacheResult,
  after: ExampleCacheResult,
): [string, string] {
  for (const t of after.tasks) {
    const old = before.byTid.get(t.tid);
    if (
      t.task === "deploy_deb" && old?.siginfo && t.siginfo && old.sig.unihash !== t.sig.unihash
    ) {
      return [join(before.dir, old.siginfo), join(after.dir, t.siginfo)];
    }
  }
  throw new Error("siginfo bench: the generated builds have no changed deploy_deb");
}

function expect(ok: boolean, what: string, result: RunResult): void {
  if (!ok) throw new Error(`${what}:\n${result.stdout.slice(0, 2000)}${result.stderr}`);
}

/** Runs the signature benchmark and returns its report section. */
export async function benchSiginfo(ctx: BenchContext): Promise<BenchSection> {
  const recipes = ctx.quick ? 100 : 500;
  const remoteDir = join(ctx.work, "siginfo-remote");
  const localDir = join(ctx.work, "siginfo-local");
  ctx.log(
    `siginfo: generating builds A0 + A (${remoteDir}) and B (${localDir}), ${recipes} recipes`,
  );
  const older = await makeExampleCache(remoteDir, {
    recipes,
    variant: "A0",
    seed: "bench-siginfo",
  });
  const remote = await makeExampleCache(remoteDir, {
    recipes,
    variant: "A",
    seed: "bench-siginfo",
  });
  const local = await makeExampleCache(localDir, { recipes, variant: "B", seed: "bench-siginfo" });
  const items = keyItems(local);
  const [olderSig, newerSig] = changedPackage(older, remote);

  let comparisons = 0;
  const analyzeStep = (label: string, extra: string[]) => ({
    label,
    cmd: [...ctx.tool, "analyze", "--color", "never", ...extra, localDir, remoteDir],
    opts: { cwd: ctx.repo },
    verify: (r: RunResult) => {
      const headers = r.stdout.match(/^==== checking local item /gm)?.length ?? 0;
      expect(headers === items, `${label}: ${headers} items reported, expected ${items}`, r);
      expect(!/^ERROR: /m.test(r.stdout), `${label} reported errors`, r);
      comparisons = r.stdout.match(/^\*\*\*\* comparing to /gm)?.length ?? 0;
    },
  });
  const cases: BenchCase[] = [
    { name: "analyze", steps: [analyzeStep(ANALYZE, [])] },
    { name: "analyze-seq", steps: [analyzeStep(ANALYZE_SEQ, ["-j", "1"])] },
    {
      name: "diff",
      steps: [{
        label: DIFF,
        cmd: [
          ...ctx.tool,
          "diff",
          "--color",
          "never",
          "--cache-dir",
          remoteDir,
          olderSig,
          newerSig,
        ],
        verify: (r) => expect(/^ {4}\S/m.test(r.stdout), `${DIFF}: no nested lines`, r),
      }],
    },
    {
      name: "dump",
      steps: [{
        label: DUMP,
        cmd: [...ctx.tool, "dump", newerSig],
        verify: (r) => expect(r.stdout.includes("Computed task hash is "), `${DUMP} failed`, r),
      }],
    },
    {
      name: "startup",
      steps: [{ label: STARTUP, cmd: [...ctx.tool, "--version"] }],
    },
  ];

  ctx.log(`siginfo: ${ctx.runs} runs of ${cases.map((c) => c.name).join(", ")}`);
  const t = await timeAlternating(cases, ctx.runs, ctx.log);
  const rows = [...t.entries()].map(([label, ms]) => [
    label,
    fmtSeconds(median(ms)),
    ms.map((x) => (x / 1000).toFixed(3)).join(", "),
    fmtSeconds(median(ms) - median(t.get(STARTUP)!)),
  ]);
  const startup = median(t.get(STARTUP)!);
  const perItem = (label: string, count: number) =>
    `${((median(t.get(label)!) - startup) / count).toFixed(2)} ms`;
  const perFile = [
    [ANALYZE, `${items} local items, ${comparisons} comparisons`, perItem(ANALYZE, comparisons)],
    [
      ANALYZE_SEQ,
      `${items} local items, ${comparisons} comparisons`,
      perItem(ANALYZE_SEQ, comparisons),
    ],
    [DIFF, "1 pair (with recursion)", perItem(DIFF, 1)],
    [DUMP, "1 file", perItem(DUMP, 1)],
  ];
  const targets: Target[] = [{
    name: `${ANALYZE} no slower than ${ANALYZE_SEQ}`,
    measured: fmtRatio(ratio(t, ANALYZE, ANALYZE_SEQ)),
    limit: "≤ 1.00×",
    met: ratio(t, ANALYZE, ANALYZE_SEQ) <= 1,
  }];
  const remoteFiles = (await tally(remoteDir)).files;
  return {
    title: "Signatures: analyze, diff, dump",
    intro: [
      `Caches generated by scripts/make-example-cache.ts with ${recipes} package recipes: the ` +
      `remote holds builds A0 and A (${remoteFiles} files), the local cache build B ` +
      `(${local.files.length} files, ${local.siginfos} siginfo), whose bootstrap change reaches ` +
      `every arm64 task. analyze reports ${items} local items; every arm64 one misses, and its ` +
      "comparisons follow changed dependencies as far as their signatures go (the package " +
      "builds' chains end at sbuild-chroot-target:do_build, a task without siginfo).",
      `Each command ran ${ctx.runs} times, alternating; times are wall-clock medians including ` +
      "process start-up. The last column subtracts the median start-up time.",
    ],
    tables: [
      { headers: ["command", "median", "runs (s)", "minus start-up"], rows },
      { headers: ["command", "work", "per compared item or file (minus start-up)"], rows: perFile },
    ],
    targets,
    notes: [
      "The reference tool's analyze needs bitbake's Python library, which is not installed " +
      "here, so it is not measured.",
      `diff compares ${olderSig.slice(remoteDir.length + 1)} (build A0) with its build A ` +
      "counterpart, following changed dependencies in the remote cache (--cache-dir).",
    ],
  };
}
