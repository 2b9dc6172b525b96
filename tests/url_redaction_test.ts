/**
 * A password in a URL never appears in any output, wherever the URL is given: as a SOURCE (an
 * error: SOURCE is local, and nothing named after the URL is created), as a signature file or
 * --cache-dir, as a TARGET that cannot be reached, or in arguments a syntax error quotes.
 * `file://` sources work wherever a local directory or file is expected.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { SIGINFO_DATA } from "./data/siginfo/golden.ts";
import { copyTree, fixtureCache, listFiles, type RunResult, tempDir, toolArgv } from "./helpers.ts";
import { spawnTool } from "./watch_helpers.ts";

const PASSWORD = "Pa55-w0rd-xyzzy";
const local = fixtureCache("head", "local");
const remote = fixtureCache("head", "remote");
const siginfo = `${SIGINFO_DATA}head/taint`;

/** A port on 127.0.0.1 that nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

const https = (port: number) => `https://alice:${PASSWORD}@127.0.0.1:${port}/sstate`;

/**
 * Runs the tool in `cwd` (where a path spelt like a URL would be created); a run that has not
 * ended after a minute (a watch that should have refused to start) is stopped.
 */
async function runIn(cwd: string, args: string[]): Promise<RunResult> {
  const [cmd, ...rest] = toolArgv(args);
  const { code, stdout, stderr } = await new Deno.Command(cmd, {
    args: rest,
    cwd,
    env: { XDG_CACHE_HOME: join(cwd, "..", "xdg") },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const dec = new TextDecoder();
  return { code, stdout: dec.decode(stdout), stderr: dec.decode(stderr) };
}

function assertNoPassword(r: RunResult, what: string): void {
  assert.ok(
    !`${r.stdout}${r.stderr}`.includes(PASSWORD),
    `${what} shows the password:\n${r.stdout}${r.stderr}`,
  );
}

/** Runs `args` in an empty directory; returns the result and what the run left in it. */
async function inEmptyDir(args: string[]): Promise<RunResult & { created: string[] }> {
  await using dir = await tempDir();
  const cwd = join(dir.path, "cwd");
  await Deno.mkdir(cwd);
  const r = await runIn(cwd, args);
  return { ...r, created: [...Deno.readDirSync(cwd)].map((e) => e.name) };
}

Deno.test("a URL as SOURCE is a one-line error without its password, and creates nothing", async () => {
  const port = closedPort();
  const sources = [
    https(port),
    `http://alice:${PASSWORD}@127.0.0.1:${port}/`,
    `s3://alice:${PASSWORD}@bucket/prefix`,
    `ftp://alice:${PASSWORD}@127.0.0.1/x`,
    `https:/alice:${PASSWORD}@127.0.0.1/x`, // one slash: still no local path
  ];
  const cases = sources.flatMap((source) =>
    ["upload", "watch", "analyze"].map((command) => [command, source, "dst"])
  );
  // In parallel: each run has its own directory.
  const results = await Promise.all(cases.map((args) => inEmptyDir(args)));
  for (const [i, r] of results.entries()) {
    const what = cases[i].slice(0, 2).join(" ");
    assertNoPassword(r, what);
    assert.equal(r.code, 1, `${what}: ${r.stdout}${r.stderr}`);
    assert.match(
      r.stdout,
      /^ERROR: source [a-z0-9]+:\/\/?alice:\*\*\*@\S+ is a URL; it must be a local path \(or file:\/\/PATH\)\n$/,
      what,
    );
    assert.deepEqual(r.created, [], `${what} created nothing`);
  }
  const json = await inEmptyDir(["analyze", "--json", https(port), "dst"]);
  assertNoPassword(json, "analyze --json");
  assert.equal(json.code, 1);
  assert.match(JSON.parse(json.stdout).error, /^source https:\/\/alice:\*\*\*@.* is a URL/);
  const userOnly = await inEmptyDir(["upload", `file://alice:${PASSWORD}@/srv/sstate`, "dst"]);
  assertNoPassword(userOnly, "a file:// URL with a password");
  assert.equal(userOnly.code, 1);
});

Deno.test("diff and dump refuse URLs without showing their passwords", async () => {
  const url = https(closedPort());
  const a = `${siginfo}/a.siginfo`;
  const cases = [
    ["dump", url],
    ["diff", url, a],
    ["diff", a, url],
    ["diff", "--cache-dir", url, a, `${siginfo}/b.siginfo`],
  ];
  const results = await Promise.all(cases.map((args) => inEmptyDir(args)));
  for (const [i, r] of results.entries()) {
    const args = cases[i];
    assertNoPassword(r, args.join(" "));
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /^ERROR: .*alice:\*\*\*@.* is a URL/);
    assert.deepEqual(r.created, []);
  }
});

Deno.test("unreachable URL targets and syntax errors never show a password", async () => {
  const url = https(closedPort());
  const runs: [string[], number][] = [
    [["info", url], 1],
    [["info", "--json", url], 1],
    [["clean", url], 1],
    [["clean", "--dry-run", url], 1],
    [["lint", url], 1],
    [["lint", "--json", url], 1],
    [["upload", local, url], 1],
    [["analyze", local, url], 1],
    [["analyze", "--json", local, url], 1],
    // Syntax errors that quote what they were given.
    [["info", "a", "b", url], 2],
    [["info", "--json", "a", "b", url], 2],
    [["clean", "--jobs", url, "x"], 2],
    [["lint", "--exit-code", url, "x"], 2],
  ];
  const results = await Promise.all(runs.map(([args]) => inEmptyDir(args)));
  for (const [i, r] of results.entries()) {
    const [args, code] = runs[i];
    assertNoPassword(r, args.join(" "));
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
    if (args.includes("--json")) assert.equal(JSON.parse(r.stdout).exit, code);
  }
});

Deno.test("file:// sources work where a local directory or file is expected", async () => {
  await using dir = await tempDir();
  const src = join(dir.path, "src");
  await copyTree(local, src);
  const files = await listFiles(src);
  const cwd = join(dir.path, "cwd");
  await Deno.mkdir(cwd);

  const up = await runIn(cwd, ["upload", `file://${src}`, join(dir.path, "up")]);
  assert.equal(up.code, 0, up.stdout);
  assert.deepEqual(await listFiles(join(dir.path, "up")), files);

  // The wrapped command's arguments are shown redacted too, in its JSON events as well.
  const wrapped = ["--", "true", https(closedPort())];
  const watched = await runIn(cwd, ["watch", `file://${src}`, join(dir.path, "w"), ...wrapped]);
  assert.equal(watched.code, 0, watched.stdout);
  assertNoPassword(watched, "watch -- COMMAND URL");
  assert.deepEqual(await listFiles(join(dir.path, "w")), files);
  const json = await runIn(cwd, ["watch", "--json", src, join(dir.path, "j"), ...wrapped]);
  assert.equal(json.code, 0, json.stderr);
  assertNoPassword(json, "watch --json -- COMMAND URL");
  assert.match(json.stdout, /"event":"started","command":\["true","https:\/\/alice:\*\*\*@/);

  const analyze = await runIn(cwd, ["analyze", "--json", `file://${src}`, `file://${remote}`]);
  assert.equal(analyze.code, 0, analyze.stderr);
  assert.equal(JSON.parse(analyze.stdout).source, `file://${src}`);

  const dump = await runIn(cwd, ["dump", `file://${siginfo}/a.siginfo`]);
  assert.equal(dump.code, 0, dump.stdout);
  const diff = await runIn(cwd, ["diff", `file://${siginfo}/a.siginfo`, `${siginfo}/b.siginfo`]);
  const plainDiff = await runIn(cwd, ["diff", `${siginfo}/a.siginfo`, `${siginfo}/b.siginfo`]);
  assert.equal(diff.code, 0, diff.stdout);
  assert.equal(diff.stdout, plainDiff.stdout);

  // A watch whose target is down names it redacted, again and again.
  const url = https(closedPort());
  const run = spawnTool(["watch", `file://${src}`, url], {
    env: { XDG_CACHE_HOME: join(dir.path, "xdg") },
  });
  await run.until(/^WARNING: .* is unreachable/m, 60_000);
  run.child.kill("SIGTERM");
  await run.until(/^interrupted: finishing the work in progress/m);
  run.child.kill("SIGTERM"); // a second signal ends the flush that waits for the target
  const down = await run.finish();
  assertNoPassword(down, "watch to a target that is down");
  assert.match(down.stdout, /alice:\*\*\*@127\.0\.0\.1/);
  assert.deepEqual([...Deno.readDirSync(cwd)], [], "nothing created in the working directory");
});
