/**
 * Upload benchmark: `isar-sstate upload SRC file://DST` against `cp -r`, `rclone copy` and the
 * Python reference tool on a generated cache, plus the no-op re-upload into the same target.
 */
import { join, resolve } from "node:path";
import { makeExampleCache } from "../make-example-cache.ts";
import { type BenchContext, expectTally, tally, warm, wipe } from "./context.ts";
import { type BenchSection, firstLine, type Target } from "./results.ts";
import {
  type BenchCase,
  fmtRatio,
  fmtSeconds,
  median,
  ratio,
  run,
  type RunResult,
  timeAlternating,
} from "./timing.ts";

/** Archives besides the package recipes' dpkg_build: 2 bootstraps, 2 sbuild chroots, 2 images × 3. */
const BASE_ARCHIVES = 10;
const ISAR = "isar-sstate upload";
const ISAR_NOOP = "isar-sstate upload, no-op re-run";
const CP = "cp -r";
const RCLONE = "rclone copy --transfers 8";
const REF = "reference isar-sstate upload (Python, 2022)";
const REF_NOOP = "reference upload, no-op re-run";
const STARTUP = "isar-sstate --version (start-up only)";

/** The Python reference tool: `ISAR_SSTATE_REFERENCE`, else ../shared/reference next to the repo. */
function referencePath(repo: string): string {
  return Deno.env.get("ISAR_SSTATE_REFERENCE") ??
    resolve(repo, "../shared/reference/isar-sstate-2022.py");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
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

function expectInfo(result: RunResult): void {
  if (!/^INFO:/m.test(result.stdout)) {
    throw new Error(`isar-sstate upload printed no INFO: lines:\n${result.stdout}${result.stderr}`);
  }
}

/** Runs the upload benchmark and returns its report section. */
export async function benchUpload(ctx: BenchContext): Promise<BenchSection> {
  const archives = ctx.quick ? 250 : 2500;
  const sizes = ctx.quick ? { min: 4096, max: 65536 } : { min: 4096, max: 1048576 };
  const src = join(ctx.work, "upload-src");
  ctx.log(`upload: generating ${archives} archives + ${archives} siginfo in ${src}`);
  const cache = await makeExampleCache(src, {
    recipes: archives - BASE_ARCHIVES,
    seed: "bench-upload",
    siginfo: "sstate",
    archiveSize: sizes,
  });
  const expected = await tally(src);
  const target = (name: string) => join(ctx.work, `upload-dst-${name}`);
  /** Untimed before every run: a fresh target, no pending writeback, the source in page cache. */
  const prepare = async (name: string) => {
    await wipe(target(name));
    await warm(src);
  };

  // Smoke test (untimed): fills Deno's caches, and fails clearly if the tool does not work.
  const smoke = join(ctx.work, "upload-smoke");
  await makeExampleCache(join(smoke, "src"), { recipes: 5 });
  try {
    expectInfo(
      await run([...ctx.tool, "upload", join(smoke, "src"), `file://${join(smoke, "dst")}`]),
    );
  } catch (err) {
    throw new Error(`isar-sstate upload does not work yet:\n${(err as Error).message}`);
  }

  const isarStep = (label: string) => ({
    label,
    cmd: [...ctx.tool, "upload", src, `file://${target("isar")}`],
    opts: { cwd: ctx.repo },
    verify: async (r: RunResult) => {
      expectInfo(r);
      await expectTally(target("isar"), expected, label);
    },
  });
  const cases: BenchCase[] = [
    {
      name: "isar-sstate",
      setup: () => prepare("isar"),
      steps: [isarStep(ISAR), isarStep(ISAR_NOOP)],
    },
    { name: "start-up", steps: [{ label: STARTUP, cmd: [...ctx.tool, "--version"] }] },
    {
      name: "cp",
      setup: () => prepare("cp"),
      steps: [{
        label: CP,
        cmd: ["cp", "-r", src, target("cp")],
        verify: () => expectTally(target("cp"), expected, CP),
      }],
    },
  ];
  const notes: string[] = [];
  const versions: Record<string, string> = {
    cp: (await firstLine(["cp", "--version"])) ?? "unknown",
  };

  const rclone = await firstLine(["rclone", "version"]);
  if (rclone) {
    versions.rclone = rclone;
    cases.push({
      name: "rclone",
      setup: () => prepare("rclone"),
      steps: [{
        label: RCLONE,
        cmd: ["rclone", "copy", "--transfers", "8", src, target("rclone")],
        verify: () => expectTally(target("rclone"), expected, RCLONE),
      }],
    });
  } else notes.push("rclone is not installed: its row is missing.");

  const reference = referencePath(ctx.repo);
  const python = await firstLine(["python3", "--version"]);
  if (python && await exists(reference)) {
    versions.python3 = python;
    const env = { PYTHONPATH: await bitbakeStub(ctx.work) };
    const refStep = (label: string) => ({
      label,
      cmd: ["python3", reference, "upload", src, `file://${target("ref")}`],
      opts: { env },
      verify: () => expectTally(target("ref"), expected, label),
    });
    cases.push({
      name: "reference",
      setup: () => prepare("ref"),
      steps: [refStep(REF), refStep(REF_NOOP)],
    });
    notes.push(
      `The reference tool (${reference}) ran with a stub \`bb.siggen\` on PYTHONPATH; ` +
        "bitbake is only needed for its analyze command.",
    );
  } else {
    notes.push(
      `The Python reference tool was skipped: ${python ? `${reference} not found` : "no python3"}` +
        " (set ISAR_SSTATE_REFERENCE to its path).",
    );
  }

  ctx.log(`upload: ${ctx.runs} runs of ${cases.map((c) => c.name).join(", ")}`);
  const t = await timeAlternating(cases, ctx.runs, ctx.log);

  const rows = [...t.entries()].map(([label, ms]) => [
    label,
    fmtSeconds(median(ms)),
    ms.map((x) => (x / 1000).toFixed(3)).join(", "),
    fmtRatio(ratio(t, label, CP)),
  ]);
  const targets: Target[] = [{
    name: `${ISAR} ≤ 1.5× ${CP}`,
    measured: fmtRatio(ratio(t, ISAR, CP)),
    limit: "≤ 1.50×",
    met: ratio(t, ISAR, CP) <= 1.5,
  }];
  if (t.has(RCLONE)) {
    targets.push({
      name: `${ISAR} faster than ${RCLONE}`,
      measured: fmtRatio(ratio(t, ISAR, RCLONE)),
      limit: "< 1.00×",
      met: ratio(t, ISAR, RCLONE) < 1,
    });
  }
  targets.push({
    name: "no-op re-upload ≤ 0.2× the first upload",
    measured: fmtRatio(ratio(t, ISAR_NOOP, ISAR)),
    limit: "≤ 0.20×",
    met: ratio(t, ISAR_NOOP, ISAR) <= 0.2,
  });
  const startup = fmtSeconds(median(t.get(STARTUP)!));
  const noop = fmtSeconds(median(t.get(ISAR_NOOP)!));
  notes.push(
    `Start-up alone (\`isar-sstate --version\`) takes ${startup} of the no-op re-run's ${noop}.`,
  );
  if (t.has(REF)) {
    notes.push(
      `${ISAR} takes ${fmtRatio(ratio(t, ISAR, REF))} the time of the reference upload; its ` +
        `no-op re-run ${fmtRatio(ratio(t, ISAR_NOOP, REF_NOOP))} of the reference's.`,
    );
  }
  const mib = (expected.bytes / 1048576).toFixed(1);
  return {
    title: "Upload to a file:// target",
    intro: [
      `Source: a generated Isar cache (scripts/make-example-cache.ts, ${cache.archives} archives ` +
      `+ ${cache.siginfos} siginfo = ${expected.files} files, ${mib} MiB; archive sizes ` +
      `log-uniform ${sizes.min / 1024} KiB .. ${sizes.max / 1024} KiB) on the same filesystem ` +
      "as the targets.",
      `Each tool ran ${ctx.runs} times after one untimed warm-up round, alternating (the ` +
      "order rotates every round). Every run copies into a fresh target (removed and `sync`ed " +
      "beforehand) except the no-op re-runs, which repeat the upload into the target the run " +
      "before filled. Page caches cannot be dropped here; instead the source is read once " +
      "before every run, so it is in the page cache for every tool (some VMs page out cache " +
      "left untouched for a while). None of this preparation is timed. Times are wall-clock " +
      "medians including process start-up (Deno for isar-sstate, Python for the reference), " +
      "measured from the bench process.",
    ],
    tables: [{ headers: ["command", "median", "runs (s)", `vs ${CP}`], rows }],
    targets,
    notes,
    versions,
  };
}
