/**
 * Watch benchmark: `isar-sstate watch --json SRC file://DST` beside a simulated bitbake that
 * writes 2,000 artifacts (archive and siginfo each) over about 10 s into a cache that holds
 * 50,000 files already (and so does the target). Reports the latency from each final name
 * appearing (link or rename) to its upload being done, the CPU time of a watch left idle for a
 * minute, the peak RSS, and the start-up until the reconciliation is done against a no-op upload.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchContext } from "./context.ts";
import type { BenchSection, Target } from "./results.ts";
import { fmtSeconds, run } from "./timing.ts";
import { archiveName, hex, seeded } from "./watch_writer.ts";

const WRITER = fileURLToPath(new URL("./watch_writer.ts", import.meta.url));

/** Writes `pairs` artifacts (small archive and siginfo) with random hashes under `root`. */
function fillCache(root: string, pairs: number): void {
  const random = seeded("bench-watch-existing");
  const archive = new Uint8Array(1024).fill(7);
  const siginfo = new Uint8Array(300).fill(9);
  const made = new Set<string>();
  for (let i = 0; i < pairs; i++) {
    const path = `${root}/${archiveName(hex(random, 64), `existing-${i}`)}`;
    const dir = path.slice(0, path.lastIndexOf("/"));
    if (!made.has(dir)) Deno.mkdirSync(dir, { recursive: true });
    made.add(dir);
    Deno.writeFileSync(path, archive);
    Deno.writeFileSync(`${path}.siginfo`, siginfo);
  }
}

/** CPU time (user + system) of a process so far, in seconds. */
function cpuSeconds(pid: number, ticksPerSecond: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** Peak resident set size of a process, in bytes. */
function peakRss(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]) * 1024;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)];
}

type Event = Record<string, unknown> & { event: string; time: string };

/** The tool as a child whose JSON events are collected as they come. */
function startWatch(cmd: string[]) {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const events: Event[] = [];
  let rest = "";
  const reading = child.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({
      write(chunk) {
        const lines = (rest + chunk).split("\n");
        rest = lines.pop()!;
        for (const line of lines) if (line.startsWith("{")) events.push(JSON.parse(line));
      },
    }),
  );
  const stderr = new Response(child.stderr).text();
  return { child, events, reading, stderr };
}

async function until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`watch benchmark: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs the watch benchmark and returns its report section. */
export async function benchWatch(ctx: BenchContext): Promise<BenchSection> {
  const existingPairs = ctx.quick ? 2500 : 25_000;
  const newPairs = ctx.quick ? 200 : 2000;
  const durationMs = ctx.quick ? 2000 : 10_000;
  const idleMs = ctx.quick ? 10_000 : 60_000;
  const src = join(ctx.work, "watch-src");
  const dst = join(ctx.work, "watch-dst");
  ctx.log(`watch: writing ${existingPairs * 2} files into ${src}, hard-linked into ${dst}`);
  fillCache(src, existingPairs);
  await run(["cp", "-al", src, dst]);
  const ticks = Number((await run(["getconf", "CLK_TCK"])).stdout.trim());

  ctx.log("watch: a no-op upload of the same cache, for comparison");
  const upload = await run([...ctx.tool, "upload", src, `file://${dst}`], { cwd: ctx.repo });

  ctx.log("watch: starting the watch");
  const started = performance.now();
  const watch = startWatch([
    ...ctx.tool,
    "watch",
    "--json",
    "--index-file",
    "",
    src,
    `file://${dst}`,
  ]);
  const pid = watch.child.pid;
  try {
    await until(
      () => watch.events.some((e) => e.event === "planned"),
      "the reconciliation",
      120_000,
    );
    const reconciledMs = performance.now() - started;
    await new Promise((r) => setTimeout(r, 3000));

    ctx.log(`watch: ${newPairs} artifacts over ${durationMs / 1000} s`);
    const timesFile = join(ctx.work, "watch-times.json");
    await run([
      Deno.execPath(),
      "run",
      "-A",
      WRITER,
      src,
      String(newPairs),
      String(durationMs),
      "bench-watch-new",
      timesFile,
    ]);
    const written: Record<string, number> = JSON.parse(await Deno.readTextFile(timesFile));
    const expected = Object.keys(written).length;
    const uploaded = () => watch.events.filter((e) => e.event === "uploaded");
    await until(() => uploaded().length >= expected, "the new artifacts", 120_000);
    const latencies: number[] = [];
    const seen = new Set<string>();
    for (const e of uploaded()) {
      const path = e.path as string;
      if (!(path in written)) throw new Error(`watch uploaded an unexpected file: ${path}`);
      if (seen.has(path)) throw new Error(`watch uploaded ${path} twice`);
      seen.add(path);
      latencies.push(Math.max(0, Date.parse(e.time) - written[path]));
    }
    latencies.sort((a, b) => a - b);

    ctx.log(`watch: idle for ${idleMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 2000));
    const cpuBefore = cpuSeconds(pid, ticks);
    await new Promise((r) => setTimeout(r, idleMs));
    const idleCpu = cpuSeconds(pid, ticks) - cpuBefore;
    const rss = peakRss(pid);
    const rssText = `${(rss / 1e6).toFixed(0)} MB (${(rss / 1048576).toFixed(0)} MiB)`;
    watch.child.kill("SIGTERM");
    const status = await watch.child.status;
    await watch.reading;
    const done = watch.events.find((e) => e.event === "done");
    if (status.code !== 143 || !done || done.notUploaded !== 0) {
      throw new Error(`watch ended badly (exit ${status.code}):\n${await watch.stderr}`);
    }

    const ms = (x: number) => `${Math.round(x)} ms`;
    const [p50, p95, max] = [
      percentile(latencies, 50),
      percentile(latencies, 95),
      latencies.at(-1)!,
    ];
    const idleShare = idleCpu / (idleMs / 1000);
    const targets: Target[] = [
      { name: "p95 latency ≤ 1 s", measured: ms(p95), limit: "≤ 1000 ms", met: p95 <= 1000 },
      {
        name: `CPU while idle for ${idleMs / 1000} s ≈ 0`,
        measured: `${idleCpu.toFixed(2)} s (${(idleShare * 100).toFixed(2)} % of a core)`,
        limit: "≤ 1 % of a core",
        met: idleShare <= 0.01,
      },
      {
        name: "peak RSS ≤ 150 MB",
        measured: rssText,
        limit: "≤ 150 MB",
        met: rss <= 150e6,
      },
    ];
    return {
      title: "Watch: new artifacts to a file:// target",
      intro: [
        `Cache: ${existingPairs * 2} files (${existingPairs} archives + siginfo, random hashes, ` +
        "so about as many HH/hh directories as a real cache of that size), on the same " +
        "filesystem as the target, which holds the same files already (hard links). " +
        "`isar-sstate watch --json` reconciles (nothing to upload), then a simulated bitbake " +
        `(scripts/bench/watch_writer.ts) writes ${newPairs} archives of 4 KiB .. 512 KiB ` +
        `(log-uniform) and their siginfo over ${durationMs / 1000} s in bursts of 20, exactly as ` +
        "bitbake does (temporary name, hard link, siginfo renamed from sigtask.*).",
        "Latency: from the link or rename of a final name (the writer's clock) to the JSON " +
        "`uploaded` event of the watch (the put is complete then), for every file. CPU time: " +
        `user + system of the watch process over ${idleMs / 1000} s without any change, default ` +
        "settings (one periodic rescan a minute). Peak RSS: VmHWM of the watch process at the end.",
      ],
      tables: [{
        headers: ["measure", "value"],
        rows: [
          ["files uploaded", `${latencies.length} (each once)`],
          ["latency p50", ms(p50)],
          ["latency p95", ms(p95)],
          ["latency max", ms(max)],
          [`CPU time while idle for ${idleMs / 1000} s`, `${idleCpu.toFixed(2)} s`],
          ["peak RSS", rssText],
          ["start until reconciled (incl. start-up)", fmtSeconds(reconciledMs)],
          ["no-op upload of the same cache (incl. start-up)", fmtSeconds(upload.ms)],
        ],
      }],
      targets,
      notes: [
        "Each run of the benchmark is one run: the figures vary by some 10 % between runs.",
      ],
    };
  } finally {
    try {
      watch.child.kill("SIGKILL");
    } catch {
      // ended already
    }
  }
}
