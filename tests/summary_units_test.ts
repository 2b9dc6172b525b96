/**
 * One unit system in what the tool prints: the Python tool's lines say `N.NN GB` (1024³ bytes),
 * and every other size (summaries, per-file lines, progress) uses the same 1024-based units with
 * the same labels; and an upload's progress line is honest about its phases: a count while the
 * source is still listed, a share and an ETA only once the amount of work is known.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { formatBytes } from "../src/cache/units.ts";
import { fixtureCache, listFiles, runTool, tempDir, toolArgv } from "./helpers.ts";
import { writeLikeBitbake } from "./watch_helpers.ts";

/** Every size with a unit in `text`, as [number, unit]. */
function sizes(text: string): [number, string][] {
  return [...text.matchAll(/(\d+(?:\.\d+)?) (B|KB|MB|GB|TB|[KMGT]iB)\b/g)].map((m) => [
    Number(m[1]),
    m[2],
  ]);
}

Deno.test("units: labels are the reference's, 1024-based", () => {
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536), "1.5 KB");
  assert.equal(formatBytes(5 * 1024 * 1024), "5.0 MB");
  assert.equal(formatBytes(3 * 1024 ** 3), "3.0 GB");
});

Deno.test("units: upload and watch summaries speak the reference's units", async () => {
  await using dir = await tempDir();
  const local = fixtureCache("head", "local");
  const bytes = (await Promise.all(
    (await listFiles(local)).map(async (f) => (await Deno.stat(join(local, f))).size),
  )).reduce((a, b) => a + b, 0);
  const up = await runTool(["upload", local, join(dir.path, "target")]);
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stdout, /^INFO: uploading 120 files \(0\.00 GB\)$/m, "the reference's line");
  const done = /^INFO: done: 120 uploaded \((\S+ \S+)\),/m.exec(up.stdout)?.[1];
  assert.equal(done, formatBytes(bytes));
  assert.deepEqual(sizes(up.stdout).map(([, unit]) => unit).filter((u) => u.endsWith("iB")), []);

  const src = join(dir.path, "watched");
  const files = [1, 2, 3].flatMap((n) => writeLikeBitbake(src, n, "u"));
  const watch = await runTool([
    "watch",
    "--index-file",
    "",
    src,
    join(dir.path, "watch-target"),
    "--",
    "true",
  ]);
  assert.equal(watch.code, 0, watch.stderr);
  const units = sizes(watch.stdout).map(([, unit]) => unit);
  assert.ok(units.length >= files.length, watch.stdout);
  assert.ok(units.every((u) => ["B", "KB", "MB", "GB"].includes(u)), watch.stdout);
});

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

Deno.test("progress: an upload counts while it lists, then shows a share once the total is known", async () => {
  await using dir = await tempDir();
  const command = toolArgv(["upload", fixtureCache("head", "local"), join(dir.path, "target")])
    .map(quote).join(" ");
  const { code, stdout } = await new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const screen = new TextDecoder().decode(stdout);
  assert.equal(code, 0, screen);
  const draws = screen.split("\r\x1b[2K").map((d) => d.split("\n")[0]).filter((d) => d !== "");
  const firstCopying = draws.findIndex((d) => d.startsWith("copying ["));
  assert.ok(firstCopying > 0, screen);
  assert.match(draws.find((d) => d.startsWith("listing"))!, /^listing\.\.\. \d+ done/);
  for (const d of draws.slice(0, firstCopying)) {
    assert.doesNotMatch(d, /%/, `no share before the total is known: ${d}`);
  }
  assert.match(draws[firstCopying], /^copying \[[#-]{20}\] \d+% \d+\/120, /);
});
