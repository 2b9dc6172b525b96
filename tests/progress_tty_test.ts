/**
 * Progress lines on a terminal: every long command draws one on stderr when stderr is a TTY (here
 * a real pseudo-terminal from util-linux `script`), and none where it is not.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fixtureCache, runTool, tempDir, toolArgv } from "./helpers.ts";

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Runs the tool on a pseudo-terminal; returns what the terminal showed. */
async function onTerminal(args: string[]): Promise<{ code: number; screen: string }> {
  const command = toolArgv(args).map(quote).join(" ");
  const { code, stdout } = await new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, screen: new TextDecoder().decode(stdout) };
}

/** An old cache of `count` one-byte archives, for clean to delete. */
async function oldCache(dir: string, count: number): Promise<void> {
  const old = new Date(Date.now() - 10 * 86400_000);
  for (let i = 0; i < count; i++) {
    const hash = i.toString(16).padStart(4, "0") + "a".repeat(60);
    const rel = join(dir, hash.slice(0, 2), hash.slice(2, 4));
    const file = join(rel, `sstate:p${i}:arm64-isar:1.0:r0:arm64:10:${hash}_dpkg_build.tar.zst`);
    await Deno.mkdir(rel, { recursive: true });
    await Deno.writeFile(file, new Uint8Array([1]));
    await Deno.utime(file, old, old);
  }
}

const BAR = (label: string, total: number) =>
  new RegExp(`\\r\\x1b\\[2K${label} \\[[#-]{20}\\] \\d+% \\d+/${total}, ETA `);

Deno.test("progress: clean, analyze and lint draw a progress line on a terminal only", async () => {
  await using dir = await tempDir();
  const remote = fixtureCache("head", "remote");
  const cases: [string[], RegExp][] = [
    [["lint", remote], BAR("linting", 110)],
    [["analyze", fixtureCache("head", "local"), remote], BAR("analyzing", 16)],
  ];
  for (const [args, bar] of cases) {
    const { code, screen } = await onTerminal(args);
    assert.ok(code === 0 || args[0] === "lint", `${args[0]}: exit ${code}`);
    assert.match(screen, bar, `${args[0]} on a terminal`);
    const piped = await runTool(args);
    assert.ok(!(piped.stderr + piped.stdout).includes("\x1b[2K"), `${args[0]} on a pipe`);
  }
  const cache = join(dir.path, "sstate");
  await oldCache(cache, 30);
  const { code, screen } = await onTerminal(["clean", "--max-age", "1d", cache]);
  assert.equal(code, 0, screen);
  assert.match(screen, BAR("deleting", 30));
  assert.match(screen, /^INFO: done: 30 deleted, 0 failed/m);
});
