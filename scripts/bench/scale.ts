/**
 * Memory at scale: peak RSS and wall time of a no-op `upload`, `watch`'s start (without and with
 * a saved index), `info` and `clean` (nothing to delete, and a tenth to delete) on generated
 * caches of about 36k, 100k and 1M files (made once, see trees.ts), beside `rclone size` on the
 * same tree; bytes per file beyond what the same command takes on an empty cache. With
 * `--before CMD` every command also runs with that build of the tool, side by side. Then the
 * first upload of the 36k cache against `cp -r` and the native copy floor
 * (../shared/tools/copy-floor.sh, where it is).
 *
 * Memory figures are stable on a shared machine; times are from one run each (take them as
 * ratios within the run).
 */
import { join, resolve } from "node:path";
import { type BenchContext, expectTally, warm, wipe } from "./context.ts";
import type { BenchSection, Table, Target } from "./results.ts";
import { fmtRatio, fmtSeconds, measureAlternating, median, run } from "./timing.ts";
import { ensureTree, type Tree } from "./trees.ts";

/** Recipes of the three trees (about 36k, 100k and 1M files), and of `--quick`. */
const SIZES = [5000, 14300, 140000];
const QUICK_SIZES = [200, 600];
const MIB = 1024 * 1024;

/** One measured run: wall ms, CPU ms, peak RSS bytes. */
interface Figure {
  ms: number;
  cpuMs: number;
  rss: number;
}

/** A tool to measure: its name in the tables and its command prefix. */
interface Tool {
  name: string;
  cmd: string[];
}

/** Runs `cmd` to completion under GNU time. */
async function measured(cmd: string[], cwd: string): Promise<Figure> {
  const r = await run(cmd, { resources: true, cwd });
  return { ms: r.ms, cpuMs: r.cpuMs ?? NaN, rss: (r.peakKb ?? NaN) * 1024 };
}

/** Peak resident set size of a running process, in bytes. */
function peakRss(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]) * 1024;
}

/**
 * `watch --json` until its `planned` event (the first comparison with the target is done): the
 * time to it and the peak RSS then; then SIGTERM, and the exit (which saves the index).
 */
async function watchStart(cmd: string[], cwd: string): Promise<Figure> {
  const started = performance.now();
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let ms = NaN, rss = NaN, text = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    text += decoder.decode(chunk, { stream: true });
    if (Number.isNaN(ms) && /"event":\s*"planned"/.test(text)) {
      ms = performance.now() - started;
      rss = peakRss(child.pid);
      child.kill("SIGTERM");
    }
    text = text.slice(text.lastIndexOf("\n") + 1);
  }
  const status = await child.status;
  if (Number.isNaN(ms)) throw new Error(`watch ended (${status.code}) before it planned`);
  return { ms, cpuMs: NaN, rss };
}

/** The commands measured on one tree, by label. */
function commands(tool: Tool, tree: Tree, work: string, indexFile: string) {
  const t = tool.cmd;
  return {
    "upload (no-op)": () => measured([...t, "upload", tree.cache, tree.target], work),
    "watch start": async () => {
      await Deno.remove(indexFile).catch(() => {});
      return await watchStart([
        ...t,
        "watch",
        "--json",
        "--index-file",
        indexFile,
        tree.cache,
        tree.target,
      ], work);
    },
    "watch start, saved index": () =>
      watchStart(
        [...t, "watch", "--json", "--index-file", indexFile, tree.cache, tree.target],
        work,
      ),
    "info": () => measured([...t, "info", tree.target], work),
    "clean, nothing to delete": () =>
      measured([...t, "clean", "--max-age", "3650d", tree.target], work),
    "clean, a tenth to delete": async () => {
      const copy = join(work, "clean-copy");
      await wipe(copy);
      await run(["cp", "-al", tree.target, copy]);
      const figure = await measured([...t, "clean", "--max-age", "1000d", copy], work);
      await wipe(copy);
      return figure;
    },
  };
}

const mib = (bytes: number) => Number.isNaN(bytes) ? "–" : `${(bytes / MIB).toFixed(0)} MiB`;
const sec = (ms: number) => Number.isNaN(ms) ? "–" : fmtSeconds(ms);

/** The copy floor of ../shared/tools (or ISAR_SSTATE_COPY_FLOOR), if it is there. */
async function copyFloor(repo: string): Promise<string | null> {
  const path = Deno.env.get("ISAR_SSTATE_COPY_FLOOR") ??
    resolve(repo, "../shared/tools/copy-floor.sh");
  return await Deno.stat(path).then(() => path, () => null);
}

/** The 36k first upload against cp -r and the copy floor: wall and CPU, medians of runs. */
async function firstUpload(ctx: BenchContext, tools: Tool[], tree: Tree) {
  const floor = await copyFloor(ctx.repo);
  let n = 0;
  const fresh = () => join(ctx.work, `first-${++n}`);
  const cases = tools.map((tool) => {
    let dst = "";
    return {
      name: tool.name,
      setup: async () => {
        dst = fresh();
        await warm(tree.cache);
      },
      steps: [{
        label: `${tool.name} upload`,
        cmd: () => [...tool.cmd, "upload", tree.cache, dst],
        opts: { resources: true, cwd: ctx.repo },
        verify: () => expectTally(dst, tree, `${tool.name} upload`),
      }],
    };
  });
  let cp = "";
  cases.push({
    name: "cp",
    setup: async () => {
      cp = fresh();
      await warm(tree.cache);
    },
    steps: [{
      label: "cp -r",
      cmd: () => ["cp", "-r", tree.cache, cp],
      opts: { resources: true, cwd: ctx.repo },
      verify: () => expectTally(cp, tree, "cp -r"),
    }],
  });
  if (floor) {
    let dst = "";
    cases.push({
      name: "floor",
      setup: async () => {
        dst = fresh();
        await warm(tree.cache);
      },
      steps: [{
        label: "copy floor (C, 2 threads)",
        cmd: () => ["bash", floor, tree.cache, dst, "2"],
        opts: { resources: true, cwd: ctx.repo },
        verify: () => expectTally(dst, tree, "copy floor"),
      }],
    });
  }
  const results = await measureAlternating(cases, ctx.runs, ctx.log);
  return { results, floor };
}

/** Runs the memory benchmark and returns its report section. */
export async function benchScale(ctx: BenchContext): Promise<BenchSection> {
  const tools: Tool[] = [{ name: ctx.before ? "after" : "isar-sstate", cmd: ctx.tool }];
  if (ctx.before) tools.unshift({ name: "before", cmd: ctx.before });
  const rclone = await run(["rclone", "version"]).then(() => true, () => false);
  const sizes = ctx.quick ? QUICK_SIZES : SIZES;
  const trees: Tree[] = [];
  for (const recipes of sizes) trees.push(await ensureTree(ctx, recipes));
  const empty = join(ctx.work, "scale-empty");
  await Deno.mkdir(join(empty, "cache"), { recursive: true });
  await Deno.mkdir(join(empty, "target"), { recursive: true });
  const emptyTree: Tree = {
    recipes: 0,
    cache: join(empty, "cache"),
    target: join(empty, "target"),
    files: 0,
    bytes: 0,
  };

  const rows: string[][] = [];
  const targets: Target[] = [];
  const largest = trees[trees.length - 1];
  for (const tool of tools) {
    const indexFile = join(ctx.work, `scale-${tool.name}.index`);
    const baseline = commands(tool, emptyTree, ctx.work, indexFile);
    const base = new Map<string, Figure>();
    for (const [label, measure] of Object.entries(baseline)) {
      if (!label.startsWith("clean, a tenth")) base.set(label, await measure());
    }
    base.set("clean, a tenth to delete", base.get("clean, nothing to delete")!);
    for (const tree of trees) {
      ctx.log(`scale: ${tool.name} on ${tree.files} files`);
      await warm(tree.cache);
      for (const [label, measure] of Object.entries(commands(tool, tree, ctx.work, indexFile))) {
        const f = await measure();
        const perFile = (f.rss - base.get(label)!.rss) / tree.files;
        ctx.log(`  ${label}: ${sec(f.ms)}, ${mib(f.rss)}`);
        rows.push([
          `${tree.files}`,
          `${tool.name}: ${label}`,
          sec(f.ms),
          sec(f.cpuMs),
          mib(f.rss),
          `${perFile.toFixed(0)} B`,
        ]);
        if (tree === largest && tool === tools[tools.length - 1]) {
          const must = label.startsWith("upload") || label.startsWith("watch");
          if (must) {
            targets.push({
              name: `${tree.files} files: ${label}, peak RSS`,
              measured: mib(f.rss),
              limit: "≤ 150 MiB (stretch 100)",
              met: f.rss <= 150 * MIB,
            });
          }
        }
      }
    }
    for (const [label, f] of base) {
      rows.push([
        "0",
        `${tool.name}: ${label} (baseline)`,
        sec(f.ms),
        sec(f.cpuMs),
        mib(f.rss),
        "",
      ]);
    }
  }
  if (rclone) {
    for (const tree of trees) {
      const f = await measured(["rclone", "size", tree.target], ctx.work);
      rows.push([`${tree.files}`, "rclone size", sec(f.ms), sec(f.cpuMs), mib(f.rss), ""]);
    }
  }

  const first = trees[0];
  const { results, floor } = await firstUpload(ctx, tools, first);
  const med = (label: string, f: (r: { ms: number; cpuMs?: number }) => number) =>
    median((results.get(label) ?? []).map(f));
  const cpMs = med("cp -r", (r) => r.ms);
  const cpCpu = med("cp -r", (r) => r.cpuMs ?? NaN);
  const firstRows = [...results.keys()].map((label) => {
    const rs = results.get(label)!;
    return [
      label,
      sec(med(label, (r) => r.ms)),
      fmtRatio(med(label, (r) => r.ms) / cpMs),
      sec(med(label, (r) => r.cpuMs ?? NaN)),
      fmtRatio(med(label, (r) => r.cpuMs ?? NaN) / cpCpu),
      mib(median(rs.map((r) => (r.peakKb ?? NaN) * 1024))),
    ];
  });
  const mine = `${tools[tools.length - 1].name} upload`;
  const firstRss = median((results.get(mine) ?? []).map((r) => (r.peakKb ?? NaN) * 1024));
  targets.push(
    {
      name: `${first.files} files: first upload, peak RSS`,
      measured: mib(firstRss),
      limit: "≤ 100 MiB",
      met: firstRss <= 100 * MIB,
    },
    {
      name: `${first.files} files: first upload vs cp -r (wall)`,
      measured: fmtRatio(med(mine, (r) => r.ms) / cpMs),
      limit: "≤ 1.20× (stretch)",
      met: med(mine, (r) => r.ms) / cpMs <= 1.2,
    },
    {
      name: `${first.files} files: first upload vs cp -r (CPU)`,
      measured: fmtRatio(med(mine, (r) => r.cpuMs ?? NaN) / cpCpu),
      limit: "≤ 1.50× (stretch)",
      met: med(mine, (r) => r.cpuMs ?? NaN) / cpCpu <= 1.5,
    },
  );

  const tables: Table[] = [
    {
      headers: [
        "files",
        "command",
        "wall",
        "CPU (user+sys)",
        "peak RSS",
        "per file beyond baseline",
      ],
      rows,
    },
    {
      headers: [
        `first upload, ${first.files} files`,
        "wall",
        "vs cp -r",
        "CPU (user+sys)",
        "CPU vs cp -r",
        "peak RSS",
      ],
      rows: firstRows,
    },
  ];
  return {
    title: "Memory at scale (file://)",
    intro: [
      `Caches generated by scripts/make-example-cache.ts (${sizes.join(", ")} package recipes, ` +
      "seed bench-scale) and kept in bench/trees/ between runs; one archive in ten (with its " +
      "siginfo) is 2,000 days old. Each target holds the same files (hard links). " +
      "Every command ran once: peak RSS from GNU time (watch: VmHWM when its `planned` event " +
      "came, i.e. the first comparison with the target was done), times from that one run on a " +
      "shared, loaded machine (compare them within a row group, not across runs). " +
      "`clean, a tenth to delete` runs on a fresh hard-link copy of the target. " +
      "Per file: (peak RSS − the same command's on an empty cache) / files.",
    ],
    tables,
    targets,
    notes: [
      floor
        ? `Copy floor: ${floor} (O_TMPFILE, copy_file_range, linkat; 2 threads).`
        : "Copy floor: skipped (../shared/tools/copy-floor.sh is not there).",
      ...(rclone ? [] : ["rclone: not installed, skipped."]),
    ],
  };
}
