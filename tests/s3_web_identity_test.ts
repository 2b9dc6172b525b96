/**
 * Web identity as CI systems with OIDC use it, for real: radosgw's STS (on a gateway of the
 * test's own) exchanges a JWT of a test issuer for temporary keys (AssumeRoleWithWebIdentity),
 * named by AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE or by a profile's role_arn and
 * web_identity_token_file. STS's requests go through the same transport (and proxy) as S3's; a
 * refused token is one error line; no token or secret appears in any output.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { collect } from "./backend_conformance.ts";
import { runTool, tempDir } from "./helpers.ts";
import { dropBucket, newBucket, openS3, s3Server, startGateway } from "./servers/ceph.ts";
import { registerWebIdentity, startOidcIssuer, STS_ARGS } from "./servers/oidc.ts";
import { haveTinyproxy, startTinyproxy } from "./servers/tinyproxy.ts";
import { errorLines, isolatedEnv, makeSource } from "./settings_env.ts";

const AUDIENCE = "isar-sstate";

Deno.test({
  name: "web identity: AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, or a profile, get keys " +
    "from STS; STS goes through the proxy too; a refused token is one line, no token printed",
  ignore: !haveTinyproxy(),
  sanitizeResources: false,
  async fn() {
    const server = await s3Server();
    await using gateway = await startGateway(server, { args: STS_ARGS });
    await using issuer = await startOidcIssuer();
    const roleArn = await registerWebIdentity(server, gateway, issuer, AUDIENCE);
    const bucket = await newBucket(server, "oidc");
    await using proxy = await startTinyproxy();
    await using home = await tempDir();
    const { src, paths } = makeSource(home.path);
    const tokenFile = join(home.path, "token");
    const token = await issuer.token(AUDIENCE);
    await Deno.writeTextFile(tokenFile, token);
    const env = isolatedEnv(home.path, {
      AWS_ENDPOINT_URL_S3: gateway.endpoint,
      AWS_ENDPOINT_URL_STS: gateway.endpoint,
      HTTP_PROXY: proxy.url,
    });
    const url = `s3://${bucket}/ci`;
    try {
      const fromEnv = { ...env, AWS_ROLE_ARN: roleArn, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile };
      const up = await runTool(["upload", src, url, "-v"], fromEnv);
      assert.equal(up.code, 0, up.stdout + up.stderr);
      assert.deepEqual((await collect(openS3(server, url))).map((e) => e.path), paths);
      const viaProxy = await proxy.requests();
      assert.ok(viaProxy.includes(`POST ${gateway.endpoint}/`), viaProxy.join("\n"));
      assert.ok(viaProxy.some((r) => r.startsWith(`PUT ${gateway.endpoint}/${bucket}/ci/`)));
      // The keys were the role's: radosgw logs the web identity's subject as the user.
      const log = await Deno.readTextFile(gateway.log);
      assert.match(log, new RegExp(`\\$oidc\\$ci-job \\[[^\\]]*\\] "PUT /${bucket}/ci/`));

      // The same from a profile, with the session name it gives.
      await Deno.mkdir(join(home.path, ".aws"));
      await Deno.writeTextFile(
        join(home.path, ".aws", "config"),
        `[profile oidc]\nrole_arn = ${roleArn}\nweb_identity_token_file = ${tokenFile}\n` +
          "role_session_name = from-profile\n",
      );
      const stsCalls = async () =>
        (await Deno.readTextFile(gateway.log)).match(/\$oidc\$ci-job \[[^\]]*\] "POST \/ /g)
          ?.length ?? 0;
      const before = await stsCalls();
      const info = await runTool(["info", url, "--profile", "oidc"], env);
      assert.equal(info.code, 0, info.stdout + info.stderr);
      assert.match(info.stdout, new RegExp(`found ${paths.length} files`));
      assert.equal(await stsCalls(), before + 1);

      // A token of another audience: STS refuses it; one line, whatever the output mode.
      const wrong = join(home.path, "wrong-token");
      const wrongToken = await issuer.token("someone-else");
      await Deno.writeTextFile(wrong, wrongToken);
      for (const flags of [[], ["-v", "--debug"], ["--json"]]) {
        const run = await runTool(["info", `${url}-x`, ...flags], {
          ...fromEnv,
          AWS_WEB_IDENTITY_TOKEN_FILE: wrong,
        });
        const text = run.stdout + run.stderr;
        assert.equal(run.code, 1, text);
        assert.deepEqual(errorLines(text), [
          `ERROR: cannot get AWS credentials for ${url}-x from web identity (${roleArn}): ` +
          "UnknownError (HTTP 403)",
        ]);
        for (const secret of [token, wrongToken, ...token.split(".").slice(1)]) {
          assert.ok(!text.includes(secret), text);
        }
      }
    } finally {
      await dropBucket(server, bucket);
    }
  },
});
