/**
 * `diff --recipe PN --task TASK CACHE`: the two most recent signatures of a recipe's task in a
 * cache (a directory, Apache WebDAV, radosgw S3), compared and followed into their dependencies
 * exactly as `diff --cache-dir` compares the same two files.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copyTree, fixtureCache, listFiles, runTool, tempDir } from "./helpers.ts";
import { assertDocumented } from "./json_schema.ts";
import { haveApache, startApache } from "./servers/apache.ts";
import { dropBucket, newBucket, s3Server } from "./servers/ceph.ts";

/** Deno's cache as it is, whatever HOME the tool runs with. */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
const REMOTE = fixtureCache("head", "remote");

/** hello:do_dpkg_build of builds A0 and A, both in the remote fixture cache. */
const A0 = "90ca23b0b4d7cc4739e3d30cefec18ebde9fddb5ec48bbe1f9c5456c137904f5";
const A = "a680bd2e06e046f180d9332630f49edc1dfb46a1bc5f7b25aa86b2a9ffbb75fd";

/** The path in the fixture cache of hello's dpkg_build siginfo with `hash`. */
async function helloSiginfo(hash: string): Promise<string> {
  return (await listFiles(REMOTE)).find((f) =>
    f.includes(`:${hash}_dpkg_build.`) && f.endsWith(".siginfo")
  )!;
}

/** What `diff --cache-dir` prints for the two files, older first: the expected comparison. */
async function expectedDiff(older: string, newer: string, json = false): Promise<string> {
  const args = ["diff", ...(json ? ["--json"] : []), "--cache-dir", REMOTE];
  const r = await runTool([
    ...args,
    join(REMOTE, await helloSiginfo(older)),
    join(REMOTE, await helloSiginfo(newer)),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.split("\n").length > 3, "the comparison follows dependencies");
  return r.stdout;
}

/** The output without the INFO lines, which name the two files. */
function withoutInfo(stdout: string): { info: string[]; rest: string } {
  const lines = stdout.split("\n");
  return {
    info: lines.filter((l) => l.startsWith("INFO: ")),
    rest: lines.filter((l) => !l.startsWith("INFO: ")).join("\n"),
  };
}

/** Asserts that the tool compared `older` with `newer`, naming them. */
async function assertCompared(stdout: string, older: string, newer: string): Promise<void> {
  const { info, rest } = withoutInfo(stdout);
  assert.equal(info[0], "INFO: comparing the two most recent signatures of hello:do_dpkg_build:");
  assert.match(
    info[1],
    new RegExp(`^INFO:   older: \\S+:${older}_dpkg_build\\.tar\\.zst\\.siginfo \\(`),
  );
  assert.match(
    info[2],
    new RegExp(`^INFO:   newer: \\S+:${newer}_dpkg_build\\.tar\\.zst\\.siginfo \\(`),
  );
  assert.equal(rest, await expectedDiff(older, newer));
}

Deno.test("diff --recipe: the last two signatures of a task in a directory, by modification time", async () => {
  await using dir = await tempDir();
  const cache = join(dir.path, "cache");
  await copyTree(REMOTE, cache);
  const [a0, a] = [join(cache, await helloSiginfo(A0)), join(cache, await helloSiginfo(A))];
  const hourAgo = new Date(Date.now() - 3600_000);
  await Deno.utime(a0, hourAgo, hourAgo);
  await Deno.utime(a, new Date(), new Date());
  const r = await runTool(["diff", "--recipe", "hello", "--task", "dpkg_build", cache]);
  assert.equal(r.code, 0, r.stderr);
  await assertCompared(r.stdout, A0, A);
  // do_ is optional, as for bitbake-diffsigs -t; the other order of times, the other direction.
  await Deno.utime(a, hourAgo, new Date(Date.now() - 7200_000));
  const back = await runTool([
    "diff",
    "--recipe",
    "hello",
    "--task",
    "do_dpkg_build",
    `file://${cache}`,
  ]);
  assert.equal(back.code, 0, back.stderr);
  await assertCompared(back.stdout, A, A0);
  // -q leaves the comparison alone.
  const quiet = await runTool(["diff", "-q", "--recipe", "hello", "--task", "dpkg_build", cache]);
  assert.equal(quiet.stdout, await expectedDiff(A, A0));
});

Deno.test("diff --recipe --json: the two signatures, the lines and the records", async () => {
  await using dir = await tempDir();
  const cache = join(dir.path, "cache");
  await copyTree(REMOTE, cache);
  const later = new Date(Date.now() + 60_000);
  await Deno.utime(join(cache, await helloSiginfo(A)), later, later);
  const r = await runTool(["diff", "--json", "--recipe", "hello", "--task", "dpkg_build", cache]);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assertDocumented("diff", json);
  assert.deepEqual([json.recipe, json.task, json.a.hash, json.b.hash], [
    "hello",
    "dpkg_build",
    A0,
    A,
  ]);
  assert.equal(json.b.time, later.toISOString());
  const expected = JSON.parse(await expectedDiff(A0, A, true));
  assert.deepEqual(json.differences, expected.differences);
  assert.deepEqual(json.changes, expected.changes);
  assert.equal(json.changes.at(-1).what, "variable");
  assert.deepEqual(json.changes.at(-1).path, ["hello:do_local_isarapt", "hello:do_prepare_build"]);
});

Deno.test("diff --recipe: fewer than two signatures, and misuse, are one-line errors", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["--recipe", "new-tool", "--task", "dpkg_build", REMOTE],
      /^ERROR: no signatures of new-tool:do_dpkg_build in file:\/\/\S+$/,
    ],
    [
      ["--recipe", "hello", "--task", "dpkg_build", "--arch", "amd64", REMOTE],
      /^ERROR: no signatures of hello:do_dpkg_build \(arch amd64\) in /,
    ],
    [
      ["--recipe", "libbar", "--task", "dpkg_build", REMOTE],
      /^ERROR: only one signature of libbar:do_dpkg_build in \S+ \(\S+\): nothing to compare it with$/,
    ],
    [["--recipe", "hello", REMOTE], /^ERROR: 'diff --recipe PN' needs one --task TASK$/],
    [["--recipe", "hello", "--task", "a", "--task", "b", REMOTE], /needs one --task TASK$/],
    [["--task", "dpkg_build", "a.siginfo", "b.siginfo"], /^ERROR: --task needs --recipe PN/],
    [["--recipe", "hello", "--task", "dpkg_build", REMOTE, REMOTE], /give only CACHE$/],
    [
      ["--recipe", "hello", "--task", "dpkg_build", "/nonexistent/cache"],
      /^ERROR: cache file:\/\/\/nonexistent\/cache does not exist$/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = await runTool(["diff", ...args]);
    assert.equal(r.code, 1, args.join(" "));
    assert.match(r.stdout.trimEnd(), message, args.join(" "));
    assert.equal(r.stdout.split("\n").filter((l) => l !== "").length, 1, r.stdout);
  }
});

/**
 * Uploads the remote fixture cache to `url` so that A's hello signature arrives after the rest
 * (`last`), a second later than A0's: remotes tell the upload time.
 */
async function uploadInOrder(url: string, env: Record<string, string>, last: string, dir: string) {
  const first = join(dir, "first");
  const second = join(dir, "second");
  await copyTree(REMOTE, first);
  const late = await helloSiginfo(last);
  await Deno.mkdir(join(second, late, ".."), { recursive: true });
  await Deno.rename(join(first, late), join(second, late));
  const up = await runTool(["upload", first, url], env);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  await new Promise((r) => setTimeout(r, 1500)); // upload times have a resolution of a second
  const up2 = await runTool(["upload", second, url], env);
  assert.equal(up2.code, 0, up2.stdout + up2.stderr);
}

Deno.test({
  name: "diff --recipe on WebDAV (Apache): the signature uploaded last is the newer one",
  ignore: !haveApache(),
  async fn() {
    await using apache = await startApache();
    await using dir = await tempDir();
    const env = { HOME: dir.path, DENO_DIR };
    const url = `${apache.url}cache/`;
    await uploadInOrder(url, env, A0, dir.path);
    const r = await runTool(["diff", "--recipe", "hello", "--task", "dpkg_build", url], env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await assertCompared(r.stdout, A, A0);
  },
});

Deno.test("diff --recipe on S3 (radosgw): the signature uploaded last is the newer one", async () => {
  const server = await s3Server();
  const bucket = await newBucket(server, "diffrecipe");
  await using dir = await tempDir();
  const env = {
    HOME: dir.path,
    DENO_DIR,
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_ENDPOINT_URL_S3: server.endpoint,
    AWS_EC2_METADATA_DISABLED: "true",
  };
  try {
    const url = `s3://${bucket}/sstate`;
    await uploadInOrder(url, env, A, dir.path);
    const r = await runTool(["diff", "--recipe", "hello", "--task", "dpkg_build", url], env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await assertCompared(r.stdout, A0, A);
    const json = await runTool(
      ["diff", "--json", "--recipe", "hello", "--task", "dpkg_build", url],
      env,
    );
    assertDocumented("diff", JSON.parse(json.stdout));
  } finally {
    await dropBucket(server, bucket);
  }
});
