/**
 * Benchmarks isar-sstate against other tools; writes bench/RESULTS.md and prints it.
 *
 * Usage: deno task bench [--runs N] [--only SECTION,...] [--quick] [--keep] [--tool CMD]
 *
 * Sections live in scripts/bench/*.ts: each is a function from a `BenchContext` to a
 * `BenchSection`, registered in SECTIONS below.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { BenchContext } from "./bench/context.ts";
import {
  type BenchSection,
  describeEnvironment,
  mergeResults,
  renderResults,
} from "./bench/results.ts";
import { run } from "./bench/timing.ts";
import { benchSiginfo } from "./bench/siginfo.ts";
import { benchRefresh } from "./bench/refresh.ts";
import { benchS3 } from "./bench/s3.ts";
import { benchScale } from "./bench/scale.ts";
import { benchUpload } from "./bench/upload.ts";
import { benchWatch } from "./bench/watch.ts";
import { benchWebdav } from "./bench/webdav.ts";

/** The benchmark sections, in report order. */
const SECTIONS: Record<string, (ctx: BenchContext) => Promise<BenchSection>> = {
  upload: benchUpload,
  webdav: benchWebdav,
  watch: benchWatch,
  siginfo: benchSiginfo,
  s3: benchS3,
  scale: benchScale,
  refresh: benchRefresh,
};

const USAGE =
  `usage: deno task bench [--runs N] [--only SECTION,...] [--quick] [--keep] [--tool CMD] [--before CMD]

  --runs N       repetitions of every timed command (default 3; medians are reported)
  --only LIST    run only these sections (${Object.keys(SECTIONS).join(", ")}); RESULTS.md keeps
                 the other sections as they were
  --quick        small data sets, to try the benchmark out (writes no RESULTS.md)
  --keep         keep the scratch directory bench/work/
  --tool CMD     the isar-sstate to measure, e.g. dist/isar-sstate (default: deno run -A main.ts with the
                 V8 flags the binary is built with)
  --before CMD   another build measured beside it where a section compares (scale: before/after)`;

/** The `--v8-flags=…` argument of scripts/compile.sh: the binary's heap settings. */
async function v8FlagsOf(repo: string): Promise<string> {
  const script = await Deno.readTextFile(join(repo, "scripts", "compile.sh"));
  const flags = /^run_flags=\(.*(--v8-flags=[^\s)]+)/m.exec(script);
  if (!flags) throw new Error("scripts/compile.sh: run_flags sets no --v8-flags");
  return flags[1];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string", default: "3" },
      only: { type: "string" },
      quick: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      tool: { type: "string" },
      before: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: not a count: ${values.runs}`);
  const names = values.only?.split(",") ?? Object.keys(SECTIONS);
  for (const name of names) {
    if (!SECTIONS[name]) throw new Error(`unknown section '${name}'\n${USAGE}`);
  }

  const repo = dirname(dirname(fileURLToPath(import.meta.url)));
  const work = join(repo, "bench", "work");
  await Deno.remove(work, { recursive: true }).catch(() => {});
  await Deno.mkdir(work, { recursive: true });
  const ctx: BenchContext = {
    repo,
    work,
    runs,
    quick: values.quick,
    tool: values.tool?.split(" ") ??
      [Deno.execPath(), "run", "-A", await v8FlagsOf(repo), join(repo, "main.ts")],
    before: values.before?.split(" "),
    log: (message) => console.error(message),
  };
  try {
    const env = await describeEnvironment(repo, work);
    const sections: BenchSection[] = [];
    for (const name of names) sections.push(await SECTIONS[name](ctx));
    let report = renderResults(env, sections);
    if (!values.quick) {
      // Formatted as `deno fmt` wants it, so that `deno fmt --check` stays clean.
      const results = join(repo, "bench", "RESULTS.md");
      const before = values.only ? await Deno.readTextFile(results).catch(() => "") : "";
      if (before) report = mergeResults(before, report, env.date);
      await Deno.writeTextFile(results, report);
      await run([Deno.execPath(), "fmt", "--quiet", results]);
      report = await Deno.readTextFile(results);
    }
    console.log(report);
  } finally {
    if (!values.keep) await Deno.remove(work, { recursive: true });
  }
  return 0;
}

try {
  Deno.exit(await main());
} catch (err) {
  console.error(`bench failed: ${err instanceof Error ? err.message : err}`);
  Deno.exit(1);
}
