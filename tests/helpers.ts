/** Shared test helpers: running the tool as a real process, temp dirs, fixture paths. */
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";

/** Absolute path of tests/data. */
export const DATA = fileURLToPath(new URL("./data/", import.meta.url));
/** Absolute path of main.ts (run only through `toolArgv`). */
const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

/**
 * The binary under test, if any: `scripts/test.sh --binary PATH` sets ISAR_SSTATE_TEST_BINARY,
 * and every run of the tool then runs `PATH ARGS` instead of `deno run main.ts ARGS`.
 */
const BINARY = Deno.env.get("ISAR_SSTATE_TEST_BINARY");
export const TOOL_BINARY: string | undefined = BINARY ? resolve(BINARY) : undefined;

/** What a run of the tool printed and returned. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Whether the tests run as root (who reads every directory unless told otherwise). */
const IS_ROOT = Deno.uid() === 0;

/**
 * Runs `isar-sstate ARGS` as a child process (no TTY, NO_COLOR unset unless given). With
 * `restricted`, file permissions apply to it even when the tests run as root: it runs without
 * the capabilities that let root read and write any directory, as an ordinary user would.
 */
export async function runTool(
  args: string[],
  env: Record<string, string> = {},
  { restricted = false } = {},
): Promise<RunResult> {
  const argv = toolArgv(args, restricted);
  const cmd = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await cmd.output();
  const dec = new TextDecoder();
  return { code, stdout: dec.decode(stdout), stderr: dec.decode(stderr) };
}

/**
 * The argv that runs `isar-sstate ARGS` (the binary under test, else main.ts from source), without
 * root's file access rights if `restricted`. Every test that runs the tool runs it through this.
 */
export function toolArgv(args: string[], restricted = false): string[] {
  const tool = TOOL_BINARY
    ? [TOOL_BINARY, ...args]
    : [Deno.execPath(), "run", "-A", "--quiet", MAIN, ...args];
  return restricted && IS_ROOT
    ? ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", ...tool]
    : tool;
}

/** A fresh temporary directory, removed by the returned disposer. */
export async function tempDir(
  prefix = "isar-sstate-test-",
): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

/** Copies a directory tree (files only, preserving mtimes). */
export async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    const src = join(from, e.name);
    const dst = join(to, e.name);
    if (e.isDirectory) await copyTree(src, dst);
    else {
      await Deno.copyFile(src, dst);
      const st = await Deno.stat(src);
      await Deno.utime(dst, st.atime ?? new Date(), st.mtime ?? new Date());
    }
  }
}

/** Every file below `dir`, relative, sorted. */
export async function listFiles(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(dir, rel))) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await listFiles(dir, path));
    else out.push(path);
  }
  return out.sort();
}

/** A fixture cache: `head` or `2022`, `local`, `remote` or `local-stamps`. */
export function fixtureCache(version: "head" | "2022", name: string): string {
  return join(DATA, "caches", version, name);
}

/** Every empty directory below `dir`, relative, sorted. */
export async function emptyDirs(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  let entries = 0;
  for await (const e of Deno.readDir(join(dir, rel))) {
    entries++;
    if (e.isDirectory) out.push(...await emptyDirs(dir, rel ? `${rel}/${e.name}` : e.name));
  }
  if (entries === 0 && rel !== "") out.push(rel);
  return out.sort();
}

/** A run of the tool as a child process whose output is read as it comes. */
export interface SpawnedTool {
  child: Deno.ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Waits until stdout matches `re` (or `ms` pass: then fails). */
  until(re: RegExp, ms?: number): Promise<void>;
  /** Waits until stderr matches `re` (or `ms` pass: then fails). */
  untilError(re: RegExp, ms?: number): Promise<void>;
  /** Waits for the exit; after `ms` the tool is killed and this fails. */
  finish(ms?: number): Promise<RunResult>;
}

/** Starts `isar-sstate ARGS` (with `env` added to the environment) and reads its output. */
export function spawnTool(args: string[], env: Record<string, string> = {}): SpawnedTool {
  const argv = toolArgv(args);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdout = "";
  let stderr = "";
  const collect = (stream: ReadableStream<Uint8Array>, add: (s: string) => void) =>
    stream.pipeThrough(new TextDecoderStream()).pipeTo(new WritableStream({ write: add }));
  const reading = Promise.all([
    collect(child.stdout, (s) => void (stdout += s)),
    collect(child.stderr, (s) => void (stderr += s)),
  ]);
  const waitFor = async (text: () => string, re: RegExp, ms: number) => {
    const end = Date.now() + ms;
    while (!re.test(text()) && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    if (!re.test(text())) throw new Error(`no ${re} within ${ms} ms:\n${stdout}\n${stderr}`);
  };
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    until: (re, ms = 20_000) => waitFor(() => stdout, re, ms),
    untilError: (re, ms = 20_000) => waitFor(() => stderr, re, ms),
    async finish(ms = 120_000) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), ms));
      const status = await Promise.race([child.status, late]);
      clearTimeout(timer);
      if (status === "late") {
        child.kill("SIGKILL");
        await child.status;
        await reading;
        throw new Error(`still running after ${ms} ms:\n${stdout}\n${stderr}`);
      }
      await reading;
      return { code: status.code, stdout, stderr };
    },
  };
}
