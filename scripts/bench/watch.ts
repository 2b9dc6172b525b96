/**
 * Watch benchmark: `isar-sstate watch --json SRC file://DST` beside a simulated bitbake that
 * writes 2,000 artifacts (archive and siginfo each) over about 10 s into a cache that holds
 * 50,000 files already (and so does the target). Reports the latency from each final name
 * appearing (link or rename) to its upload being done, the CPU time of a watch left idle for a
 * minute, the peak RSS, and the start-up until the reconciliation is done against a no-op upload.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { haveApache, startApache } from "../../tests/servers/apache.ts";
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

/** What one watch run measured. */
interface Measured {
  latencies: number[];
  idleCpu: number;
  rss: number;
  reconciledMs: number;
  uploadMs: number;
}

/** Settings of one run against one target. */
interface Scenario {
  src: string;
  target: string;
  pairs: number;
  durationMs: number;
  idleMs: number;
  seed: string;
  ticks: number;
}

/**
 * Times a no-op upload into `target`, then runs the watch on it while the simulated bitbake
 * writes, then leaves it idle; returns the figures.
 */
async function measure(ctx: BenchContext, s: Scenario): Promise<Measured> {
  ctx.log(`watch: a no-op upload to ${s.target}, for comparison`);
  const upload = await run([...ctx.tool, "upload", s.src, s.target], { cwd: ctx.repo });
  ctx.log(`watch: watching, uploading to ${s.target}`);
  const started = performance.now();
  const watch = startWatch([...ctx.tool, "watch", "--json", "--index-file", "", s.src, s.target]);
  const pid = watch.child.pid;
  try {
    const planned = () => watch.events.some((e) => e.event === "planned");
    await until(planned, "the reconciliation", 300_000);
    const reconciledMs = performance.now() - started;
    await new Promise((r) => setTimeout(r, 3000));

    ctx.log(`watch: ${s.pairs} artifacts over ${s.durationMs / 1000} s`);
    const timesFile = join(ctx.work, `watch-times-${s.seed}.json`);
    const args = [s.src, String(s.pairs), String(s.durationMs), s.seed, timesFile];
    await run([Deno.execPath(), "run", "-A", WRITER, ...args]);
    const written: Record<string, number> = JSON.parse(await Deno.readTextFile(timesFile));
    const expected = Object.keys(written).length;
    const uploaded = () => watch.events.filter((e) => e.event === "uploaded");
    await until(() => uploaded().length >= expected, "the new artifacts", 300_000);
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

    ctx.log(`watch: idle for ${s.idleMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 2000));
    const cpuBefore = cpuSeconds(pid, s.ticks);
    await new Promise((r) => setTimeout(r, s.idleMs));
    const idleCpu = cpuSeconds(pid, s.ticks) - cpuBefore;
    const rss = peakRss(pid);
    watch.child.kill("SIGTERM");
    const status = await watch.child.status;
    await watch.reading;
    const done = watch.events.find((e) => e.event === "done");
    if (status.code !== 143 || !done || done.notUploaded !== 0) {
      throw new Error(`watch ended badly (exit ${status.code}):\n${await watch.stderr}`);
    }
    return { latencies, idleCpu, rss, reconciledMs, uploadMs: upload.ms };
  } finally {
    try {
      watch.child.kill("SIGKILL");
    } catch {
      // ended already
    }
  }
}

/** Runs the watch benchmark (file://, then WebDAV where Apache is installed). */
export async function benchWatch(ctx: BenchContext): Promise<BenchSection> {
  const existingPairs = ctx.quick ? 2500 : 25_000;
  const pairs = ctx.quick ? 200 : 2000;
  const durationMs = ctx.quick ? 2000 : 10_000;
  const idleMs = ctx.quick ? 10_000 : 60_000;
  const src = join(ctx.work, "watch-src");
  const dst = join(ctx.work, "watch-dst");
  ctx.log(`watch: writing ${existingPairs * 2} files into ${src}, hard-linked into ${dst}`);
  fillCache(src, existingPairs);
  await run(["cp", "-al", src, dst]);
  const ticks = Number((await run(["getconf", "CLK_TCK"])).stdout.trim());
  const base = { src, pairs, durationMs, idleMs, ticks };
  const results: [string, Measured][] = [
    ["file://", await measure(ctx, { ...base, target: `file://${dst}`, seed: "bench-watch-file" })],
  ];
  const notes = [
    "Each configuration ran once: the figures vary by some 10 % between runs.",
  ];
  if (haveApache()) {
    await using apache = await startApache({ ttlSeconds: 3600 });
    const served = join(apache.dir, "watch");
    ctx.log(`watch: copying the cache to Apache (${served})`);
    await run(["cp", "-a", src, served]);
    await run(["chown", "-R", "www-data:", served]).catch(() => {}); // as root: Apache's user
    const target = `${apache.url}watch/`;
    results.push(["WebDAV", await measure(ctx, { ...base, target, seed: "bench-watch-webdav" })]);
    notes.push(
      "WebDAV: Apache 2.4 mod_dav_fs on 127.0.0.1 (scripts/servers/start-webdav.sh) serving a " +
        "copy of the cache, on the same machine as the watch.",
    );
  } else notes.push("Apache is not installed: the WebDAV column is missing.");

  const ms = (x: number) => `${Math.round(x)} ms`;
  const rssText = (rss: number) =>
    `${(rss / 1e6).toFixed(0)} MB (${(rss / 1048576).toFixed(0)} MiB)`;
  const cpuText = (m: Measured) =>
    `${m.idleCpu.toFixed(2)} s (${(100 * m.idleCpu / (idleMs / 1000)).toFixed(2)} % of a core)`;
  const row = (label: string, value: (m: Measured) => string) => [
    label,
    ...results.map(([, m]) => value(m)),
  ];
  const targets: Target[] = results.flatMap(([name, m]) => [
    {
      name: `${name}: p95 latency ≤ 1 s`,
      measured: ms(percentile(m.latencies, 95)),
      limit: "≤ 1000 ms",
      met: percentile(m.latencies, 95) <= 1000,
    },
    {
      name: `${name}: CPU while idle for ${idleMs / 1000} s ≈ 0`,
      measured: cpuText(m),
      limit: "≤ 1 % of a core",
      met: m.idleCpu / (idleMs / 1000) <= 0.01,
    },
    {
      name: `${name}: peak RSS ≤ 150 MB`,
      measured: rssText(m.rss),
      limit: "≤ 150 MB",
      met: m.rss <= 150e6,
    },
  ]);
  return {
    title: "Watch: new artifacts to file:// and WebDAV targets",
    intro: [
      `Cache: ${existingPairs * 2} files (${existingPairs} archives + siginfo, random hashes, so ` +
      "about as many HH/hh directories as a real cache of that size); each target holds the same " +
      "files already (file://: hard links on the same filesystem). `isar-sstate watch --json` " +
      "reconciles (nothing to upload), then a simulated bitbake (scripts/bench/watch_writer.ts) " +
      `writes ${pairs} archives of 4 KiB .. 512 KiB (log-uniform) and their siginfo over ` +
      `${durationMs / 1000} s in bursts of 20, exactly as bitbake does (temporary name, hard ` +
      "link, siginfo renamed from sigtask.*).",
      "Latency: from the link or rename of a final name (the writer's clock) to the JSON " +
      "`uploaded` event of the watch (the put is complete then), for every file. CPU time: user " +
      `+ system of the watch process over ${idleMs / 1000} s without any change, default ` +
      "settings (one periodic rescan a minute). Peak RSS: VmHWM of the watch process at the end.",
    ],
    tables: [{
      headers: ["measure", ...results.map(([name]) => name)],
      rows: [
        row("files uploaded", (m) => `${m.latencies.length} (each once)`),
        row("latency p50", (m) => ms(percentile(m.latencies, 50))),
        row("latency p95", (m) => ms(percentile(m.latencies, 95))),
        row("latency max", (m) => ms(m.latencies.at(-1)!)),
        row(`CPU time while idle for ${idleMs / 1000} s`, (m) => `${m.idleCpu.toFixed(2)} s`),
        row("peak RSS", (m) => rssText(m.rss)),
        row("start until reconciled (incl. start-up)", (m) => fmtSeconds(m.reconciledMs)),
        row("no-op upload to the same target (incl. start-up)", (m) => fmtSeconds(m.uploadMs)),
      ],
    }],
    targets,
    notes,
  };
}
