/** What every benchmark section gets, and file helpers they share. */
import { join } from "node:path";
import { run } from "./timing.ts";

/** Shared settings of one benchmark run. */
export interface BenchContext {
  /** Repository root. */
  repo: string;
  /** Scratch directory of this run (bench/work), removed afterwards. */
  work: string;
  /** Repetitions of every timed command. */
  runs: number;
  /** Small data sets, for trying the benchmark out; results are not representative. */
  quick: boolean;
  /** Command prefix that runs isar-sstate from the repository: `deno run -A main.ts`. */
  tool: string[];
  /** Another build to measure beside it, where a section compares (`--before CMD`). */
  before?: string[];
  log: (message: string) => void;
}

/** Number of files and their total size under `dir`. */
export async function tally(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0, bytes = 0;
  const walk = async (path: string) => {
    for await (const entry of Deno.readDir(path)) {
      const child = join(path, entry.name);
      if (entry.isDirectory) await walk(child);
      else {
        files++;
        bytes += (await Deno.lstat(child)).size;
      }
    }
  };
  await walk(dir);
  return { files, bytes };
}

/** Throws unless `dir` holds exactly `expected` files and bytes. */
export async function expectTally(
  dir: string,
  expected: { files: number; bytes: number },
  who: string,
): Promise<void> {
  const got = await tally(dir);
  if (got.files !== expected.files || got.bytes !== expected.bytes) {
    throw new Error(
      `${who}: ${dir} holds ${got.files} files (${got.bytes} bytes), expected ` +
        `${expected.files} (${expected.bytes} bytes)`,
    );
  }
}

/**
 * Reads every file under `dir` once, so that it is in the page cache: some VMs page out cache
 * that has not been touched for a minute (e.g. DAMON reclaim), which would make runs uneven.
 */
export async function warm(dir: string): Promise<void> {
  const buffer = new Uint8Array(1 << 20);
  const walk = async (path: string) => {
    for await (const entry of Deno.readDir(path)) {
      const child = join(path, entry.name);
      if (entry.isDirectory) await walk(child);
      else if (entry.isFile) {
        using file = await Deno.open(child);
        while ((await file.read(buffer)) !== null) { /* read to the end */ }
      }
    }
  };
  await walk(dir);
}

/** Removes `dir` and flushes dirty pages, so that no run pays for an earlier run's writeback. */
export async function wipe(dir: string): Promise<void> {
  await Deno.remove(dir, { recursive: true }).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
  await run(["sync"]);
}
