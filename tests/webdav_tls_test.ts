/**
 * WebDAV over https against Apache with mod_ssl and a generated CA: verification is on (an
 * unknown CA is one target error that says how to trust it), and with `DENO_CERT` naming the CA
 * the whole conformance suite passes (in a child process, as DENO_CERT is read at start-up).
 * Requests go over node:https, not fetch, and trust the same CAs as fetch would, with and
 * without NODE_EXTRA_CA_CERTS (with it, node:https alone would ignore DENO_CERT).
 */
import assert from "node:assert/strict";
import { rootCertificates } from "node:tls";
import { fileURLToPath } from "node:url";
import { BUFFER_LIMIT } from "../src/backends/webdav/body.ts";
import { startApache } from "./servers/apache.ts";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Runs deno with `args` and a clean environment plus `env`. */
async function deno(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    clearEnv: true,
    env: {
      HOME: Deno.env.get("HOME") ?? "/root",
      PATH: Deno.env.get("PATH") ?? "",
      NO_COLOR: "1",
      ...env,
    },
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { ok: out.success, text };
}

Deno.test("webdav over https: TLS is verified; DENO_CERT trusts a private CA", async () => {
  await using apache = await startApache({ tls: true, auth: { user: "ci", password: "tls-pw" } });
  assert.ok(apache.ca);
  const url = apache.url.replace("https://", "https://ci:tls-pw@");
  const probe = `
    const { WebDavBackend } = await import(${
    JSON.stringify(here("../src/backends/webdav/webdav.ts"))
  });
    const { credentialsFor } = await import(${
    JSON.stringify(here("../src/backends/webdav/credentials.ts"))
  });
    const { BUFFER_LIMIT } = await import(${
    JSON.stringify(here("../src/backends/webdav/body.ts"))
  });
    const url = ${JSON.stringify(url)};
    const b = new WebDavBackend(url);
    try { console.log("exists:", await b.exists()); } catch (e) { console.log(e.scope + ": " + e.message); }
    // Streamed, so over node:https rather than fetch.
    const file = Deno.makeTempFileSync();
    Deno.writeFileSync(file, new Uint8Array(BUFFER_LIMIT + 1));
    try { console.log("streamed put:", await b.put("large", { file, size: BUFFER_LIMIT + 1 })); }
    catch (e) { console.log("streamed put " + e.scope + ": " + e.message); }
    await b.close();
    Deno.removeSync(file);`;
  const untrusted = await deno(["eval", probe]);
  assert.match(
    untrusted.text,
    /^target: cannot connect to https:\/\/ci:\*\*\*@127\.0\.0\.1:\d+\/sstate\/: .*(certificate|UnknownIssuer).*DENO_CERT/m,
  );
  assert.match(
    untrusted.text,
    /^streamed put target: cannot connect to https:\/\/ci:\*\*\*@127\.0\.0\.1:\d+\/sstate\/: .*DENO_CERT/m,
  );
  assert.ok(!untrusted.text.includes("tls-pw"));
  // With NODE_EXTRA_CA_CERTS naming another CA, node:https alone would not trust DENO_CERT's.
  const other = await Deno.makeTempFile({ suffix: ".pem" });
  await Deno.writeTextFile(other, rootCertificates[0]);
  const trusted = await deno(["eval", probe], {
    DENO_CERT: apache.ca,
    NODE_EXTRA_CA_CERTS: other,
  }).finally(() => Deno.remove(other));
  assert.match(trusted.text, /^exists: true$/m, trusted.text);
  assert.match(trusted.text, /^streamed put: stored$/m, trusted.text);
  assert.equal((await Deno.stat(`${apache.dir}/large`)).size, BUFFER_LIMIT + 1);
  // fetch trusts NODE_EXTRA_CA_CERTS as well, and so do streamed PUTs.
  await Deno.remove(`${apache.dir}/large`);
  const extra = await deno(["eval", probe], { NODE_EXTRA_CA_CERTS: apache.ca });
  assert.match(extra.text, /^exists: true$/m, extra.text);
  assert.match(extra.text, /^streamed put: stored$/m, extra.text);

  const suite = await deno(["test", "-A", here("./webdav_https_suite.ts")], {
    DENO_CERT: apache.ca,
    ISAR_SSTATE_TEST_HTTPS_URL: url,
  });
  const summary = /ok \| (\d+) passed \| 0 failed/.exec(suite.text);
  assert.ok(suite.ok && summary, suite.text.slice(-3000));
  assert.ok(Number(summary[1]) >= 20, summary[0]);
});
