/** Bad input: one line naming the problem, the right exit code, no stack trace, nothing written. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fixtureCache, listFiles, runTool, tempDir } from "./helpers.ts";

interface Case {
  name: string;
  args: (dir: string) => string[];
  code: number;
  /** Expected on stdout (ERROR/WARNING lines) or stderr (usage errors). */
  message: RegExp;
  stream: "stdout" | "stderr";
}

const local = fixtureCache("head", "local");

const CASES: Case[] = [
  {
    name: "unknown command",
    args: () => ["frobnicate", "x"],
    code: 2,
    stream: "stderr",
    message: /invalid choice: 'frobnicate'/,
  },
  {
    name: "no arguments",
    args: () => [],
    code: 2,
    stream: "stderr",
    message:
      /^usage: isar-sstate COMMAND.*\nisar-sstate: error: the following arguments are required: command, target/m,
  },
  {
    name: "missing target",
    args: () => ["info"],
    code: 2,
    stream: "stderr",
    message: /required: target/,
  },
  {
    name: "unknown option",
    args: () => ["info", "--colour", "x"],
    code: 2,
    stream: "stderr",
    message: /unrecognized arguments: --colour/,
  },
  {
    name: "upload without source",
    args: (d) => ["upload", d],
    code: 1,
    stream: "stdout",
    message: /^ERROR: 'upload' needs a source and target$/m,
  },
  {
    name: "info with a source",
    args: (d) => ["info", local, d],
    code: 1,
    stream: "stdout",
    message: /^ERROR: 'info' must not have a source \(only a target\)$/m,
  },
  {
    name: "bad --max-age",
    args: (d) => ["clean", "--max-age", "3 days", d],
    code: 1,
    stream: "stdout",
    message: /^ERROR: cannot parse MAX_AGE '3 days'/m,
  },
  {
    name: "bad --max-sig-age",
    args: (d) => ["clean", "--max-sig-age", "1y", d],
    code: 1,
    stream: "stdout",
    message: /^ERROR: cannot parse MAX_SIG_AGE '1y'/m,
  },
  {
    name: "bad --jobs",
    args: (d) => ["upload", "-j", "0", local, d],
    code: 1,
    stream: "stdout",
    message: /^ERROR: --jobs must be between 1 and 256/m,
  },
  {
    name: "bad --filter regex",
    args: (d) => ["info", "--filter", "(", d],
    code: 1,
    stream: "stdout",
    message: /^ERROR: invalid --filter regex '\('/m,
  },
  {
    name: "unknown scheme, credentials redacted",
    args: () => ["info", "ftp://me:hunter2@host/x"],
    code: 1,
    stream: "stdout",
    message: /^ERROR: unknown URL scheme 'ftp:\/\/' in ftp:\/\/me:\*\*\*@host\/x/m,
  },
  {
    name: "WebDAV URL with a query",
    args: () => ["info", "https://me:pw@dav/x?token=t"],
    code: 1,
    stream: "stdout",
    message:
      /^ERROR: a WebDAV URL takes no query or fragment: https:\/\/me:\*\*\*@dav\/x\?token=\*\*\*$/m,
  },
  {
    name: "unreadable source (a path through a file)",
    args: (d) => ["upload", join(d, "a-file", "sstate"), join(d, "t")],
    code: 1,
    stream: "stdout",
    message: /^ERROR: cannot access source .*a-file\/sstate: Not a directory/m,
  },
  {
    name: "malformed URL, credentials redacted",
    args: () => ["info", "https:/me:hunter2@host/x"],
    code: 1,
    stream: "stdout",
    message: /^ERROR: malformed location https:\/me:\*\*\*@host\/x: expected scheme:\/\//m,
  },
  {
    name: "source is a file",
    args: (d) => ["upload", join(d, "a-file"), join(d, "t")],
    code: 1,
    stream: "stdout",
    message: /^ERROR: source .*a-file is not a directory$/m,
  },
  {
    name: "target is a file",
    args: (d) => ["upload", local, join(d, "a-file")],
    code: 1,
    stream: "stdout",
    message: /^ERROR: target file:\/\/.*a-file does not exist and could not be created: /m,
  },
  {
    name: "an option the command does not take",
    args: (d) => ["clean", "--json", d],
    code: 2,
    stream: "stderr",
    message: /unrecognized arguments: --json \('clean' does not take them\)/,
  },
  {
    name: "a foreign option is named as it was typed",
    args: (d) => ["info", "-j4", d],
    code: 2,
    stream: "stderr",
    message: /unrecognized arguments: -j \('info' does not take them\)/,
  },
  {
    name: "a syntax error under --json is JSON on stdout too",
    args: (d) => ["info", "--json", "--bogus", d],
    code: 2,
    stream: "stdout",
    message: /^\{"version":1,"error":"unrecognized arguments: --bogus","exit":2\}$/m,
  },
  {
    name: "a foreign option under --json is JSON on stdout too",
    args: (d) => ["info", "--json", "--dry-run", d],
    code: 2,
    stream: "stdout",
    message:
      /^\{"version":1,"error":"unrecognized arguments: --dry-run \('info' does not take them\)","exit":2\}$/m,
  },
  {
    name: "a target inside the source",
    args: (d) => ["upload", join(d, "src"), join(d, "src", "mirror")],
    code: 1,
    stream: "stdout",
    message: /^ERROR: target file:\/\/.*src\/mirror is inside the source .*src$/m,
  },
  {
    name: "target below a file",
    args: (d) => ["upload", local, `file://${join(d, "a-file", "sub")}`],
    code: 1,
    stream: "stdout",
    message: /^ERROR: target .* could not be created/m,
  },
];

for (const c of CASES) {
  Deno.test(`bad input: ${c.name}`, async () => {
    await using dir = await tempDir();
    await Deno.writeTextFile(join(dir.path, "a-file"), "not a directory");
    await Deno.mkdir(join(dir.path, "src"));
    const r = await runTool(c.args(dir.path));
    assert.equal(r.code, c.code, r.stdout + r.stderr);
    assert.match(r[c.stream], c.message);
    assert.doesNotMatch(r.stdout + r.stderr, /hunter2|:pw@/, "no credentials printed");
    assert.doesNotMatch(r.stdout + r.stderr, /^\s+at /m, "no stack trace");
    if (c.stream === "stdout" && c.code === 1) {
      assert.equal(r.stdout.split("\n").filter((l) => l.startsWith("ERROR:")).length, 1);
    }
    assert.deepEqual(await listFiles(dir.path), ["a-file"], "nothing written");
  });
}

Deno.test("bad input: a missing target is a warning for info and clean (exit 0)", async () => {
  await using dir = await tempDir();
  const missing = join(dir.path, "nope");
  const info = await runTool(["info", `file://${missing}`]);
  assert.equal(info.code, 0);
  assert.equal(info.stdout, `WARNING: cannot access target file://${missing}. No info to show.\n`);
  const clean = await runTool(["clean", missing]);
  assert.equal(clean.code, 0);
  assert.equal(
    clean.stdout,
    `WARNING: cannot access target file://${missing}. Nothing to clean.\n`,
  );
});

Deno.test("help: global and per command, exit 0; --version", async () => {
  const global = await runTool(["--help"]);
  assert.equal(global.code, 0);
  for (const cmd of ["upload", "clean", "info"]) {
    assert.match(global.stdout, new RegExp(`^  ${cmd} `, "m"));
  }
  const upload = await runTool(["upload", "--help"]);
  assert.equal(upload.code, 0);
  assert.match(upload.stdout, /^usage: isar-sstate upload SOURCE TARGET/m);
  assert.match(upload.stdout, /--dry-run/);
  assert.match(upload.stdout, /^examples:/m);
  const version = await runTool(["--version"]);
  assert.match(version.stdout, /^isar-sstate \d+\.\d+\.\d+ \(.+\)\n$/);
});
