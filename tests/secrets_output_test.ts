/**
 * No credential, session token or proxy password in any output: S3 runs that succeed and runs
 * that fail (a wrong secret with a session token, a proxy refusing its login, a dead proxy,
 * keys of a credential_process that the store refuses) with -v, --debug and --json, and a watch that its
 * credentials stop, all through a real proxy (tinyproxy with a login) to radosgw.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runTool, tempDir } from "./helpers.ts";
import { dropBucket, newBucket, s3Server } from "./servers/ceph.ts";
import { freePort, haveTinyproxy, startTinyproxy } from "./servers/tinyproxy.ts";
import { errorLines, isolatedEnv, makeSource } from "./settings_env.ts";

Deno.test({
  name: "secrets: no secret key, session token or proxy password in -v, --debug or --json output",
  ignore: !haveTinyproxy(),
  sanitizeResources: false,
  async fn() {
    const server = await s3Server();
    const bucket = await newBucket(server, "secrets");
    const login = { user: "proxyuser", password: "proxy-pw-7Hq2" };
    await using proxy = await startTinyproxy(login);
    await using home = await tempDir();
    const { src } = makeSource(home.path);
    const withLogin = proxy.url.replace("http://", `http://${login.user}:${login.password}@`);
    const wrongSecret = "wrong-secret-4fJ9x0aPq2ZrT7";
    const sessionToken = "session-token-Zt81xQ0dLm5KpW";
    const processSecret = "process-secret-Yq3vN8wTe6Hu";
    const script = join(home.path, "creds.sh");
    await Deno.writeTextFile(
      script,
      `#!/bin/sh\necho '{"Version": 1, "AccessKeyId": "${server.accessKeyId}", ` +
        `"SecretAccessKey": "${processSecret}"}'\n`,
    );
    await Deno.chmod(script, 0o755);
    await Deno.mkdir(join(home.path, ".aws"));
    await Deno.writeTextFile(
      join(home.path, ".aws", "config"),
      `[profile proc]\ncredential_process = ${script}\n`,
    );
    const secrets = [
      server.secretAccessKey,
      wrongSecret,
      sessionToken,
      processSecret,
      login.password,
    ];
    const url = `s3://${bucket}/c`;
    const good = isolatedEnv(home.path, {
      AWS_ACCESS_KEY_ID: server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
      AWS_ENDPOINT_URL_S3: server.endpoint,
      HTTP_PROXY: withLogin,
    });
    const runs: [string, string[], Record<string, string>, number][] = [
      ["upload -v", ["upload", "-v", src, url], good, 0],
      ["info -v", ["info", "-v", url], good, 0],
      ["info --json", ["info", "--json", url], good, 0],
      ["wrong secret", ["upload", "-v", "--debug", src, url], {
        ...good,
        AWS_SECRET_ACCESS_KEY: wrongSecret,
        AWS_SESSION_TOKEN: sessionToken,
      }, 1],
      ["wrong secret --json", ["info", "--json", "--debug", url], {
        ...good,
        AWS_SECRET_ACCESS_KEY: wrongSecret,
      }, 1],
      ["session token", ["info", "-v", "--debug", url], {
        ...good,
        AWS_SESSION_TOKEN: sessionToken,
      }, 0],
      ["proxy refuses", ["info", "--json", "--debug", url], {
        ...good,
        HTTP_PROXY: withLogin.replace(login.password, `${login.password}x`),
      }, 1],
      ["dead proxy", ["upload", "-v", "--debug", src, url], {
        ...good,
        HTTP_PROXY: `http://${login.user}:${login.password}@127.0.0.1:${freePort()}`,
      }, 1],
      ["credential_process refused", ["info", "-v", "--debug", url], {
        ...good,
        AWS_ACCESS_KEY_ID: "",
        AWS_SECRET_ACCESS_KEY: "",
        AWS_PROFILE: "proc",
      }, 1],
      ["watch refused", ["watch", "--json", "-v", src, url], {
        ...good,
        AWS_SECRET_ACCESS_KEY: wrongSecret,
      }, 1],
    ];
    try {
      for (const [what, args, env, code] of runs) {
        const run = await runTool(args, env);
        const text = run.stdout + run.stderr;
        assert.equal(run.code, code, `${what}: ${text}`);
        if (code !== 0) assert.ok(errorLines(text).length >= 1, `${what}: ${text}`);
        for (const secret of secrets) {
          assert.ok(!text.includes(secret), `${what} printed a secret: ${text}`);
        }
      }
    } finally {
      await dropBucket(server, bucket);
    }
  },
});
