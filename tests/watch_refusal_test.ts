/**
 * `watch` when the target refuses it or cannot be reached, against real servers: wrong
 * credentials (Apache with basic auth, radosgw with a wrong secret) stop it at once with one line
 * and exit 1, at start and later (a changed password, an outage that ends in a 401); an outage is
 * one WARNING line that counts the files waiting; and the JSON `done` event's exit code is the
 * process's, after signals too.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "./helpers.ts";
import { haveApache, startApache } from "./servers/apache.ts";
import { dropBucket, newBucket, s3Server } from "./servers/ceph.ts";
import { freePort } from "./servers/tinyproxy.ts";
import {
  allPresent,
  eventually,
  jsonEvents,
  type LiveTool,
  spawnTool,
  writeLikeBitbake,
} from "./watch_helpers.ts";

/** Deno's cache as it is, whatever HOME the tool runs with. */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
const auth = { user: "builder", password: "right-pw" };

/** The tool's exit, within `ms` (else it is killed and the test fails). */
async function exited(run: LiveTool, ms = 60_000) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
  const done = await Promise.race([run.child.status, timeout]);
  clearTimeout(timer);
  if (done === "timeout") {
    run.child.kill("SIGKILL");
    await run.finish();
    assert.fail(`still running after ${ms} ms:\n${run.stdout}${run.stderr}`);
  }
  return await run.finish();
}

const lines = (text: string, prefix: string) =>
  text.split("\n").filter((l) => l.startsWith(prefix));

/** A source with `count` artifacts (two files each), and the environment to run the tool in. */
async function setup(dir: string, count: number) {
  const src = join(dir, "sstate");
  await Deno.mkdir(src);
  const files: string[] = [];
  for (let n = 0; n < count; n++) files.push(...writeLikeBitbake(src, n, "r"));
  const env = { HOME: dir, DENO_DIR, XDG_CACHE_HOME: join(dir, "xdg") };
  return { src, files, env };
}

Deno.test({
  name: "watch refusal: wrong WebDAV credentials stop it at start with one line, exit 1",
  ignore: !haveApache(),
  async fn() {
    await using apache = await startApache({ auth });
    await using dir = await tempDir();
    const { src, env } = await setup(dir.path, 4);
    const url = apache.url.replace("http://", "http://builder:wrong-pw@") + "cache/";
    for (const json of [false, true]) {
      const run = spawnTool(["watch", ...(json ? ["--json"] : []), src, url], { env });
      const { code, stdout, stderr } = await exited(run);
      assert.equal(code, 1, stdout + stderr);
      assert.deepEqual(lines(stdout + stderr, "ERROR:"), [
        `ERROR: authentication failed for http://builder:***@127.0.0.1:${apache.port}/sstate/cache/`,
      ]);
      assert.deepEqual(lines(stdout + stderr, "WARNING:"), []);
      assert.ok(!(stdout + stderr).includes("wrong-pw"));
      if (json) {
        const error = jsonEvents(stdout).at(-1)!;
        assert.equal(error.exit, 1);
        assert.match(String(error.error), /^authentication failed for /);
      }
    }
  },
});

Deno.test({
  name: "watch refusal: with a wrapped command, the command goes on; one line, exit 1",
  ignore: !haveApache(),
  async fn() {
    await using apache = await startApache({ auth });
    await using dir = await tempDir();
    const { src, env } = await setup(dir.path, 2);
    const url = apache.url.replace("http://", "http://builder:wrong-pw@") + "cache/";
    const flag = join(dir.path, "build-ran");
    const build = ["bash", "-c", `sleep 2; touch '${flag}'`];
    const run = spawnTool(["watch", "--json", src, url, "--", ...build], { env });
    const { code, stdout, stderr } = await exited(run);
    assert.equal(code, 1, stdout + stderr);
    await Deno.stat(flag); // the build ran to its end
    const shown = `http://builder:***@127.0.0.1:${apache.port}/sstate/cache/`;
    assert.deepEqual(lines(stdout + stderr, "ERROR:"), [
      `ERROR: authentication failed for ${shown}; nothing more is uploaded (the command goes on)`,
    ]);
    const events = jsonEvents(stdout);
    assert.deepEqual(events.filter((e) => e.event === "refused").map((e) => e.error), [
      `authentication failed for ${shown}`,
    ]);
    assert.equal(events.find((e) => e.event === "exited")!.code, 0);
    assert.equal(events.find((e) => e.event === "done")!.exitCode, 1);
  },
});

Deno.test({
  name: "watch refusal: a password changed while watching stops it with one line, exit 1",
  ignore: !haveApache(),
  async fn() {
    await using apache = await startApache({ auth });
    await using dir = await tempDir();
    const { src, files, env } = await setup(dir.path, 3);
    const url = apache.url.replace("http://", "http://builder:right-pw@") + "cache/";
    const run = spawnTool(["watch", "--json", src, url], { env });
    await run.until(/"event":"planned"/);
    assert.ok(await eventually(() => allPresent(join(apache.dir, "cache"), files)));
    // The server's password changes: the next upload meets a 401.
    const htpasswd = new Deno.Command("htpasswd", {
      args: ["-b", "-B", `${apache.state}/htpasswd`, "builder", "new-pw"],
      stdout: "null",
      stderr: "null",
    });
    assert.ok((await htpasswd.output()).success);
    writeLikeBitbake(src, 10, "r");
    const { code, stdout, stderr } = await exited(run);
    assert.equal(code, 1, stdout + stderr);
    assert.deepEqual(lines(stdout + stderr, "ERROR:"), [
      `ERROR: authentication failed for http://builder:***@127.0.0.1:${apache.port}/sstate/cache/`,
    ]);
    assert.deepEqual(lines(stdout + stderr, "WARNING:"), []);
    assert.equal(jsonEvents(stdout).filter((e) => e.event === "uploaded").length, files.length);
  },
});

Deno.test({
  name: "watch refusal: an outage is one WARNING line counting the files that wait; when it " +
    "ends in a 401 the watch stops with one line",
  ignore: !haveApache(),
  async fn() {
    await using dir = await tempDir();
    const { src, env } = await setup(dir.path, 4);
    const port = freePort();
    const url = `http://builder:wrong-pw@127.0.0.1:${port}/sstate/cache/`;
    const run = spawnTool(["watch", src, url], { env });
    await run.until(/WARNING: .* is unreachable/, 60_000);
    // Then the server comes up, with other credentials than ours.
    await using _apache = await startApache({ auth, port });
    const { code, stdout, stderr } = await exited(run);
    assert.equal(code, 1, stdout + stderr);
    const shown = `http://builder:***@127.0.0.1:${port}/sstate/cache/`;
    assert.deepEqual(lines(stdout + stderr, "WARNING:"), [
      `WARNING: ${shown} is unreachable (cannot connect to ${shown}: Connection refused); 8 ` +
      "files wait for it, trying again after 1s, 2s, 4s... up to every minute",
    ]);
    assert.deepEqual(lines(stdout + stderr, "ERROR:"), [
      `ERROR: authentication failed for ${shown}`,
    ]);
    assert.ok(!(stdout + stderr).includes("wrong-pw"));
  },
});

Deno.test({
  name: "watch refusal: an outage at start counts the files that wait; once the target is up " +
    "they are uploaded",
  ignore: !haveApache(),
  async fn() {
    await using dir = await tempDir();
    const { src, files, env } = await setup(dir.path, 4);
    const port = freePort();
    const url = `http://127.0.0.1:${port}/sstate/cache/`;
    const run = spawnTool(["watch", "--json", src, url], { env });
    await run.until(/"event":"down"/, 60_000);
    await using apache = await startApache({ port });
    await run.until(/"event":"up"/, 60_000);
    assert.ok(await eventually(() => allPresent(join(apache.dir, "cache"), files)));
    run.child.kill("SIGTERM");
    const { code, stdout, stderr } = await exited(run);
    assert.equal(code, 0, stderr);
    const events = jsonEvents(stdout);
    const down = events.filter((e) => e.event === "down");
    assert.equal(down.length, 1);
    assert.equal(down[0].pending, files.length);
    assert.equal(events.find((e) => e.event === "up")!.pending, files.length);
    assert.equal(events.find((e) => e.event === "done")!.uploaded, files.length);
    assert.deepEqual(lines(stdout + stderr, "ERROR:"), []);
  },
});

Deno.test({
  name: "watch refusal: the done event's exit code is the process's after SIGTERM and SIGINT " +
    "(0: a requested stop that uploaded everything)",
  ignore: !haveApache(),
  async fn() {
    await using apache = await startApache();
    await using dir = await tempDir();
    const { src, files, env } = await setup(dir.path, 2);
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const run = spawnTool(["watch", "--json", src, `${apache.url}cache/`], { env });
      await run.until(/"event":"planned"/);
      assert.ok(await eventually(() => allPresent(join(apache.dir, "cache"), files)));
      run.child.kill(signal);
      const { code, stdout, stderr } = await exited(run);
      assert.equal(code, 0, stderr);
      const done = jsonEvents(stdout).find((e) => e.event === "done")!;
      assert.equal(done.exitCode, 0);
      assert.equal(done.notUploaded, 0);
    }
  },
});

Deno.test("watch refusal: a wrong S3 secret stops it with one line, exit 1", async () => {
  const server = await s3Server();
  const bucket = await newBucket(server, "refuse");
  await using dir = await tempDir();
  const { src, env } = await setup(dir.path, 4);
  try {
    for (
      const [secret, message] of [
        ["not-the-secret", /the secret access key does not match/],
        [undefined, /no AWS credentials found/],
      ] as const
    ) {
      const run = spawnTool(["watch", src, `s3://${bucket}/sstate`], {
        env: {
          ...env,
          AWS_ACCESS_KEY_ID: secret ? server.accessKeyId : "",
          AWS_SECRET_ACCESS_KEY: secret ?? "",
          AWS_ENDPOINT_URL_S3: server.endpoint,
          AWS_REGION: server.region,
          AWS_EC2_METADATA_DISABLED: "true",
        },
      });
      const { code, stdout, stderr } = await exited(run);
      assert.equal(code, 1, stdout + stderr);
      const errors = lines(stdout + stderr, "ERROR:");
      assert.equal(errors.length, 1, stderr);
      assert.match(errors[0], message);
      assert.deepEqual(lines(stdout + stderr, "WARNING:"), []);
      assert.ok(!(stdout + stderr).includes(server.secretAccessKey));
    }
  } finally {
    await dropBucket(server, bucket);
  }
});
