/**
 * Helpers of the watch tests: a writer that produces artifacts exactly as bitbake does, and the
 * tool as a live child process whose output is read as it comes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { listFiles, toolArgv } from "./helpers.ts";

const encoder = new TextEncoder();

function randomSuffix(length: number): string {
  const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  return Array.from({ length }, () => chars[Math.floor(Math.random() * chars.length)]).join("");
}

/** The relative path of artifact `n`'s archive (its siginfo is this plus `.siginfo`). */
export function archivePath(n: number, tag = "w"): string {
  const hash = `${(n * 2654435761 >>> 0).toString(16).padStart(8, "0")}${tag.charCodeAt(0)}`
    .padEnd(64, "0");
  return `${hash.slice(0, 2)}/${hash.slice(2, 4)}/sstate:pkg${n}-${tag}:arm64-isar:1.0:r0:arm64:` +
    `10:${hash}_dpkg_build.tar.zst`;
}

/** The content of artifact `n`'s archive: a few KiB that differ per artifact. */
export function archiveData(n: number): Uint8Array {
  return encoder.encode(`archive ${n} `.repeat(200 + (n % 50) * 40));
}

/**
 * Writes artifact `n` under `root` as bitbake does: the archive to `NAME.XXXXXXXX`, hard-linked to
 * NAME, the temporary name removed; then the siginfo to `sigtask.XXXXXX`, renamed to its final
 * name. Returns the two final paths.
 */
export function writeLikeBitbake(root: string, n: number, tag = "w"): string[] {
  const archive = archivePath(n, tag);
  const final = join(root, archive);
  Deno.mkdirSync(join(final, ".."), { recursive: true });
  const temp = `${final}.${randomSuffix(8)}`;
  Deno.writeFileSync(temp, archiveData(n));
  Deno.linkSync(temp, final);
  Deno.removeSync(temp);
  const sigTemp = join(final, "..", `sigtask.${randomSuffix(6)}`);
  Deno.writeFileSync(sigTemp, encoder.encode(`siginfo of ${n}`));
  Deno.renameSync(sigTemp, `${final}.siginfo`);
  return [archive, `${archive}.siginfo`];
}

/** Polls `check` every 50 ms until it holds or `timeoutMs` pass; returns whether it held. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return await check();
}

/** Whether every path of `paths` exists under `root`. */
export function allPresent(root: string, paths: string[]): boolean {
  return paths.every((p) => {
    try {
      Deno.statSync(join(root, p));
      return true;
    } catch {
      return false;
    }
  });
}

/** Asserts that `target` holds exactly `expected` (archives complete, no temporary file). */
export async function assertTargetHolds(target: string, expected: string[]): Promise<void> {
  const files = await listFiles(target);
  assert.deepEqual(files, [...expected].sort(), "exactly the final artifacts, nothing else");
  for (const path of expected.filter((p) => p.endsWith(".tar.zst"))) {
    const n = Number(/sstate:pkg(\d+)-/.exec(path)![1]);
    assert.deepEqual(Deno.readFileSync(join(target, path)), archiveData(n), `${path} complete`);
  }
}

/** The tool running as a child process. */
export interface LiveTool {
  child: Deno.ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Waits until stdout or stderr matches `re` (or `timeoutMs` pass), then asserts it. */
  until(re: RegExp, timeoutMs?: number): Promise<void>;
  finish(): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Starts `isar-sstate ARGS` with stdout and stderr read as they come. */
export function spawnTool(
  args: string[],
  options: { env?: Record<string, string>; restricted?: boolean } = {},
): LiveTool {
  const argv = toolArgv(args, options.restricted);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdout = "";
  let stderr = "";
  const collect = (stream: ReadableStream<Uint8Array>, add: (text: string) => void) =>
    stream.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (chunk) => add(chunk) }),
    );
  const reading = Promise.all([
    collect(child.stdout, (t) => stdout += t),
    collect(child.stderr, (t) => stderr += t),
  ]);
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    async until(re: RegExp, timeoutMs = 30_000) {
      await eventually(() => re.test(stdout + stderr), timeoutMs);
      assert.match(stdout + stderr, re);
    },
    async finish() {
      const status = await child.status;
      await reading;
      return { code: status.code, stdout, stderr };
    },
  };
}

/** The JSON events a `--json` run printed. */
export function jsonEvents(stdout: string): Record<string, unknown>[] {
  return stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}
