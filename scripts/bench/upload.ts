/**
 * file:// benchmark at two cache sizes (about 3.5k and 36k files): `isar-sstate upload` against
 * `cp -r`, `rclone copy` and the Python reference tool, the no-op re-upload, `info` and `clean`
 * (nothing to delete) against the reference, start-up, and peak memory (also at 100k files).
 *
 * Hygiene: every timed copy goes into a new directory; nothing is deleted until the whole
 * benchmark is over (ext4 slows file creation for minutes after mass deletions); rounds are
 * interleaved and medians reported.
 */
import { join, resolve } from "node:path";
import { makeExampleCache } from "../make-example-cache.ts";
import { type BenchContext, expectTally, tally, warm } from "./context.ts";
import { type BenchSection, firstLine, type Table, type Target } from "./results.ts";
import {
  type BenchCase,
  fmtRatio,
  fmtSeconds,
  HAVE_GNU_TIME,
  measureAlternating,
  median,
  run,
  type RunResult,
} from "./timing.ts";

const UPLOAD = "isar-sstate upload";
const NOOP = "isar-sstate upload, no-op re-run";
const INFO = "isar-sstate info";
const CLEAN = "isar-sstate clean, nothing to delete";
const CP = "cp -r";
const RCLONE = "rclone copy --transfers 8";
const REF = "reference upload (Python, 2022)";
const REF_NOOP = "reference upload, no-op re-run";
const REF_INFO = "reference info";
const REF_CLEAN = "reference clean, nothing to delete";
const STARTUP = "isar-sstate --version";
const BARE = "deno run of an empty script";

/** The Python reference tool: `ISAR_SSTATE_REFERENCE`, else ../shared/reference next to the repo. */
function referencePath(repo: string): string {
  return Deno.env.get("ISAR_SSTATE_REFERENCE") ??
    resolve(repo, "../shared/reference/isar-sstate-2022.py");
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/**
 * A stub `bb.siggen` (compare_sigfiles = None) on PYTHONPATH: the reference imports bitbake at
 * start-up but needs it only for `analyze`.
 */
async function bitbakeStub(work: string): Promise<string> {
  const dir = join(work, "python-stub");
  await Deno.mkdir(join(dir, "bb"), { recursive: true });
  await Deno.writeTextFile(join(dir, "bb", "__init__.py"), "");
  await Deno.writeTextFile(join(dir, "bb", "siggen.py"), "compare_sigfiles = None\n");
  return dir;
}

/** Medians of one label's runs: wall time, CPU time, peak memory. */
function stats(results: Map<string, RunResult[]>, label: string) {
  const rs = results.get(label) ?? [];
  const pick = (f: (r: RunResult) => number | undefined) => {
    const values = rs.map(f).filter((v): v is number => v !== undefined);
    return values.length ? median(values) : NaN;
  };
  return {
    ms: pick((r) => r.ms),
    cpuMs: pick((r) => r.cpuMs),
    peakMb: pick((r) => r.peakKb === undefined ? undefined : r.peakKb / 1024),
    runs: rs.map((r) => (r.ms / 1000).toFixed(3)).join(", "),
  };
}

const mb = (v: number) => Number.isNaN(v) ? "–" : `${v.toFixed(0)} MiB`;
const sec = (v: number) => Number.isNaN(v) ? "–" : fmtSeconds(v);

/** One data set's timings: every tool, alternating, fresh targets, nothing deleted. */
async function measureSize(
  ctx: BenchContext,
  name: string,
  recipes: number,
  reference: { script: string; env: Record<string, string> } | null,
  rclone: boolean,
) {
  const src = join(ctx.work, `${name}-src`);
  ctx.log(`upload ${name}: generating a cache of ${recipes} recipes in ${src}`);
  await makeExampleCache(src, { recipes, seed: `bench-${name}` });
  const expected = await tally(src);
  let n = 0;
  const fresh = (tool: string) => join(ctx.work, `${name}-dst-${tool}-${++n}`);
  const measured = { resources: true, cwd: ctx.repo };
  const check = (dir: () => string, label: string) => () => expectTally(dir(), expected, label);
  const cases: BenchCase[] = [];

  let isar = "";
  cases.push({
    name: "isar-sstate",
    setup: async () => {
      isar = fresh("isar");
      await warm(src);
    },
    steps: [
      {
        label: UPLOAD,
        cmd: () => [...ctx.tool, "upload", src, `file://${isar}`],
        opts: measured,
        verify: check(() => isar, UPLOAD),
      },
      { label: NOOP, cmd: () => [...ctx.tool, "upload", src, isar], opts: measured },
      { label: INFO, cmd: () => [...ctx.tool, "info", isar], opts: measured },
      {
        label: CLEAN,
        cmd: () => [...ctx.tool, "clean", "--max-age", "3650d", isar],
        opts: measured,
        verify: check(() => isar, CLEAN),
      },
    ],
  });
  let cp = "";
  cases.push({
    name: "cp",
    setup: async () => {
      cp = fresh("cp");
      await warm(src);
    },
    steps: [{
      label: CP,
      cmd: () => ["cp", "-r", src, cp],
      opts: measured,
      verify: check(() => cp, CP),
    }],
  });
  if (rclone) {
    let dst = "";
    cases.push({
      name: "rclone",
      setup: async () => {
        dst = fresh("rclone");
        await warm(src);
      },
      steps: [{
        label: RCLONE,
        cmd: () => ["rclone", "copy", "--transfers", "8", src, dst],
        opts: measured,
        verify: check(() => dst, RCLONE),
      }],
    });
  }
  if (reference) {
    let ref = "";
    const py = (...args: string[]) => ["python3", reference.script, ...args];
    const opts = { ...measured, env: reference.env };
    cases.push({
      name: "reference",
      setup: async () => {
        ref = fresh("ref");
        await warm(src);
      },
      steps: [
        {
          label: REF,
          cmd: () => py("upload", src, `file://${ref}`),
          opts,
          verify: check(() => ref, REF),
        },
        { label: REF_NOOP, cmd: () => py("upload", src, `file://${ref}`), opts },
        { label: REF_INFO, cmd: () => py("info", ref), opts },
        { label: REF_CLEAN, cmd: () => py("clean", "--max-age", "3650d", ref), opts },
      ],
    });
  }
  ctx.log(`upload ${name}: ${ctx.runs} runs of ${cases.map((c) => c.name).join(", ")}`);
  const results = await measureAlternating(cases, ctx.runs, ctx.log);
  return { results, expected };
}

/** Peak memory of one upload of a cache of `recipes` recipes (a single run). */
async function peakAt(ctx: BenchContext, recipes: number): Promise<{ files: number; mb: number }> {
  const src = join(ctx.work, `rss-${recipes}-src`);
  ctx.log(`upload: generating ${recipes} recipes for the memory check`);
  await makeExampleCache(src, { recipes, seed: "bench-rss" });
  const files = (await tally(src)).files;
  const r = await run([...ctx.tool, "upload", src, join(ctx.work, `rss-${recipes}-dst`)], {
    resources: true,
  });
  return { files, mb: (r.peakKb ?? NaN) / 1024 };
}

/** Runs the file:// benchmark and returns its report section. */
export async function benchUpload(ctx: BenchContext): Promise<BenchSection> {
  const script = referencePath(ctx.repo);
  const python = await firstLine(["python3", "--version"]);
  const reference = python && await exists(script)
    ? { script, env: { PYTHONPATH: await bitbakeStub(ctx.work) } }
    : null;
  const rcloneVersion = await firstLine(["rclone", "version"]);
  const sizes = ctx.quick
    ? [{ name: "small", recipes: 50 }]
    : [{ name: "3.5k", recipes: 500 }, { name: "36k", recipes: 5000 }];

  // Start-up: the tool's `--version` against a bare `deno run`.
  const empty = join(ctx.work, "empty.ts");
  await Deno.writeTextFile(empty, "");
  const startup = await measureAlternating(
    [
      { name: "isar", steps: [{ label: STARTUP, cmd: [...ctx.tool, "--version"] }] },
      { name: "bare", steps: [{ label: BARE, cmd: [Deno.execPath(), "run", "-A", empty] }] },
    ],
    Math.max(ctx.runs, 5),
    ctx.log,
  );
  const startupOver = stats(startup, STARTUP).ms - stats(startup, BARE).ms;

  const tables: Table[] = [];
  const targets: Target[] = [];
  const notes: string[] = [];
  let rss36k = NaN;
  for (const size of sizes) {
    const { results, expected } = await measureSize(
      ctx,
      size.name,
      size.recipes,
      reference,
      rcloneVersion !== null,
    );
    const cpMs = stats(results, CP).ms;
    const labels = [UPLOAD, CP, RCLONE, REF, NOOP, REF_NOOP, INFO, REF_INFO, CLEAN, REF_CLEAN];
    tables.push({
      headers: [
        `${size.name}: ${expected.files} files, ${(expected.bytes / 1048576).toFixed(0)} MiB`,
        "median",
        "vs cp -r",
        "CPU (user+sys)",
        "peak memory",
        "runs (s)",
      ],
      rows: labels.filter((l) => results.has(l)).map((label) => {
        const s = stats(results, label);
        return [label, sec(s.ms), fmtRatio(s.ms / cpMs), sec(s.cpuMs), mb(s.peakMb), s.runs];
      }),
    });
    const ratio = (a: string, b: string) => stats(results, a).ms / stats(results, b).ms;
    const large = size.name === "36k";
    targets.push({
      name: `${size.name}: ${UPLOAD} vs ${CP}`,
      measured: fmtRatio(ratio(UPLOAD, CP)),
      limit: large ? "≤ 1.20× (must: ≤ 1.50×)" : "≤ 1.50×",
      met: ratio(UPLOAD, CP) <= (large ? 1.2 : 1.5),
    });
    if (reference) {
      targets.push({
        name: `${size.name}: ${UPLOAD} vs ${REF}`,
        measured: fmtRatio(ratio(UPLOAD, REF)),
        limit: "< 1.00×",
        met: ratio(UPLOAD, REF) < 1,
      });
      targets.push({
        name: `${size.name}: no-op re-upload vs the reference's`,
        measured: fmtRatio(ratio(NOOP, REF_NOOP)),
        limit: "≤ 0.50×",
        met: ratio(NOOP, REF_NOOP) <= 0.5,
      });
      if (large) {
        for (const [ours, theirs] of [[INFO, REF_INFO], [CLEAN, REF_CLEAN]]) {
          targets.push({
            name: `${size.name}: ${ours} vs ${theirs}`,
            measured: fmtRatio(ratio(ours, theirs)),
            limit: "≤ 0.50×",
            met: ratio(ours, theirs) <= 0.5,
          });
        }
      }
    }
    if (rcloneVersion) {
      targets.push({
        name: `${size.name}: ${UPLOAD} vs ${RCLONE}`,
        measured: fmtRatio(ratio(UPLOAD, RCLONE)),
        limit: "< 1.00×",
        met: ratio(UPLOAD, RCLONE) < 1,
      });
    }
    if (large) rss36k = stats(results, UPLOAD).peakMb;
  }

  targets.push({
    name: `start-up over a bare deno run (${STARTUP})`,
    measured: `${startupOver.toFixed(0)} ms`,
    limit: "≤ 25 ms",
    met: startupOver <= 25,
  });
  if (!ctx.quick && HAVE_GNU_TIME) {
    targets.push({
      name: `peak memory of ${UPLOAD}, 36k files`,
      measured: mb(rss36k),
      limit: "≤ 100 MiB",
      met: rss36k <= 100,
    });
    const big = await peakAt(ctx, 14_300);
    notes.push(
      `Peak memory of one upload of ${big.files} files: ${mb(big.mb)} (36k files: ` +
        `${mb(rss36k)}).`,
    );
  }
  if (!HAVE_GNU_TIME) notes.push("GNU time (/usr/bin/time) is missing: no CPU or memory figures.");
  if (!reference) notes.push("The Python reference tool was not found: its rows are missing.");
  if (!rcloneVersion) notes.push("rclone is not installed: its rows are missing.");
  notes.push(
    `Start-up: ${sec(stats(startup, STARTUP).ms)} for ${STARTUP}, ` +
      `${sec(stats(startup, BARE).ms)} for ${BARE}.`,
  );
  if (reference) {
    notes.push(
      `The reference tool (${script}) ran with a stub \`bb.siggen\` on PYTHONPATH; bitbake is ` +
        "only needed for its analyze command.",
    );
  }
  const versions: Record<string, string> = {
    cp: (await firstLine(["cp", "--version"])) ?? "unknown",
  };
  if (rcloneVersion) versions.rclone = rcloneVersion;
  if (python) versions.python3 = python;
  return {
    title: "Upload, info and clean on a file:// target",
    intro: [
      "Sources: caches generated by scripts/make-example-cache.ts (500 and 5,000 package " +
      "recipes) on the same filesystem as the targets, read once before every copy so they " +
      "are in the page cache.",
      `Each tool ran ${ctx.runs} times after one untimed warm-up round, rounds interleaved. ` +
      "Every copy goes into a new directory, and nothing is deleted until the whole benchmark " +
      "is over: ext4 on these machines slows file creation for minutes after mass deletions " +
      "(cp -r of the same cache went from 1.75 s to 16.6 s over six runs with rm -rf in " +
      "between). The no-op re-run, info and clean (nothing old enough to delete) run on the " +
      "target the upload before filled. Times are wall-clock medians of whole processes " +
      "(start-up included), CPU time and peak resident memory from GNU time.",
    ],
    tables,
    targets,
    notes,
    versions,
  };
}
