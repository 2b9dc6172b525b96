/** Running commands for benchmarks: wall-clock timing, alternating repetitions, medians, ratios. */

/** Outcome of one command run. */
export interface RunResult {
  /** Wall-clock milliseconds from spawn to exit. */
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
  /** With `resources`: CPU time (user + system) in ms and peak resident memory in KiB. */
  cpuMs?: number;
  peakKb?: number;
}

/** A command exited non-zero (or could not start) where success was required. */
export class CommandFailed extends Error {
  constructor(readonly cmd: string[], readonly result?: RunResult, cause?: unknown) {
    const tail = result
      ? `exit code ${result.code}\n${
        (result.stdout + result.stderr).trim().split("\n").slice(-15)
          .join("\n")
      }`
      : String(cause instanceof Error ? cause.message : cause);
    super(`command failed: ${cmd.join(" ")}\n${tail}`, { cause });
    this.name = "CommandFailed";
  }
}

/** Where and how to run a command. */
export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Also measure CPU time and peak memory (through GNU time, `/usr/bin/time`). */
  resources?: boolean;
}

/** Whether GNU time is there to measure CPU time and peak memory. */
export const HAVE_GNU_TIME = (() => {
  try {
    return Deno.statSync("/usr/bin/time").isFile;
  } catch {
    return false;
  }
})();

/** Runs a command to completion and times it; throws `CommandFailed` unless it exits 0. */
export async function run(cmd: string[], opts: RunOptions = {}): Promise<RunResult> {
  const report = opts.resources && HAVE_GNU_TIME ? await Deno.makeTempFile() : undefined;
  const argv = report ? ["/usr/bin/time", "-o", report, "-f", "%U %S %M", ...cmd] : cmd;
  const command = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: opts.cwd,
    env: opts.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  const started = performance.now();
  let out: Deno.CommandOutput;
  try {
    out = await command.output();
  } catch (err) {
    throw new CommandFailed(cmd, undefined, err);
  }
  const result: RunResult = {
    ms: performance.now() - started,
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  if (report) {
    const [user, sys, peak] = (await Deno.readTextFile(report)).trim().split("\n").at(-1)!
      .split(" ").map(Number);
    await Deno.remove(report);
    result.cpuMs = (user + sys) * 1000;
    result.peakKb = peak;
  }
  if (result.code !== 0) throw new CommandFailed(cmd, result);
  return result;
}

/** One timed command of a case. */
export interface Step {
  /** Name its timings are reported under. */
  label: string;
  /** The command, or a function making it just before each run (e.g. a fresh target). */
  cmd: string[] | (() => string[]);
  opts?: RunOptions;
  /** Checks the outcome (untimed); throws to fail the benchmark. */
  verify?: (result: RunResult) => void | Promise<void>;
}

/** A unit that is repeated: an untimed setup, then its steps in order. */
export interface BenchCase {
  name: string;
  /** Untimed preparation before every repetition (e.g. wiping the target). */
  setup?: () => void | Promise<void>;
  steps: Step[];
}

/**
 * Runs every case `warmup` rounds untimed (outcomes still verified), then `runs` timed rounds,
 * alternating between cases (the order rotates each round so that no case always runs first), and
 * returns the milliseconds of each step label over the timed rounds.
 */
export async function timeAlternating(
  cases: BenchCase[],
  runs: number,
  log: (message: string) => void = () => {},
  warmup = 1,
): Promise<Map<string, number[]>> {
  const results = await measureAlternating(cases, runs, log, warmup);
  return new Map([...results].map(([label, rs]) => [label, rs.map((r) => r.ms)]));
}

/** Like `timeAlternating`, with every run's whole result (CPU time and memory where asked). */
export async function measureAlternating(
  cases: BenchCase[],
  runs: number,
  log: (message: string) => void = () => {},
  warmup = 1,
): Promise<Map<string, RunResult[]>> {
  const results = new Map<string, RunResult[]>();
  for (let round = -warmup; round < runs; round++) {
    const name = round < 0 ? "warm-up" : `run ${round + 1}/${runs}`;
    for (let i = 0; i < cases.length; i++) {
      const c = cases[(round + warmup + i) % cases.length];
      await c.setup?.();
      for (const step of c.steps) {
        const cmd = typeof step.cmd === "function" ? step.cmd() : step.cmd;
        const result = await run(cmd, step.opts);
        await step.verify?.(result);
        log(`  ${name}: ${step.label}: ${fmtSeconds(result.ms)}`);
        if (round < 0) continue;
        if (!results.has(step.label)) results.set(step.label, []);
        results.get(step.label)!.push(result);
      }
    }
  }
  return results;
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The median of `label`'s timings divided by the median of `base`'s. */
export function ratio(times: Map<string, number[]>, label: string, base: string): number {
  return median(times.get(label) ?? []) / median(times.get(base) ?? []);
}

/** Milliseconds as seconds, e.g. `1.234 s`. */
export function fmtSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(3)} s`;
}

/** A ratio as e.g. `1.23×`. */
export function fmtRatio(value: number): string {
  return `${value.toFixed(2)}×`;
}
