/**
 * The settings of remote locations are documented where users look: every environment variable
 * the backends read is in the README's settings table (beside the AWS CLI's and rclone's), and
 * `--help` has a "Locations and credentials" section naming the settings of credentials,
 * endpoints, proxies and CAs; the commands that open caches take `--profile`.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { runTool } from "./helpers.ts";

const root = fileURLToPath(new URL("../", import.meta.url));

/** The variables named in src/backends/ (code and comments). */
function variablesRead(): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) walk(path);
      else if (e.name.endsWith(".ts")) {
        const text = Deno.readTextFileSync(path);
        const re =
          /\b(AWS_[A-Z0-9_]+|DENO_CERT|DENO_TLS_CA_STORE|SSL_CERT_FILE|NODE_EXTRA_CA_CERTS|(?:HTTPS|HTTP|ALL|NO)_PROXY|ISAR_SSTATE_[A-Z_]+)\b/g;
        for (const m of text.matchAll(re)) out.add(m[1]);
      }
    }
  };
  walk(`${root}src/backends`);
  return out;
}

/** The README's table of settings. */
function settingsTable(): string {
  const readme = Deno.readTextFileSync(`${root}README.md`);
  const start = readme.indexOf("### Settings of remote locations");
  assert.ok(start >= 0, "the README has a settings section");
  const rest = readme.slice(start);
  const table = rest.split("\n").filter((l) => l.startsWith("|"));
  assert.match(table[0], /\| setting +\| isar-sstate +\| AWS CLI +\| rclone +\|/);
  return table.join("\n");
}

Deno.test("settings docs: every variable the backends read is in the README's table", () => {
  const table = settingsTable();
  const read = [...variablesRead()];
  assert.ok(read.length > 20, read.join(", "));
  const missing = read.filter((name) => !new RegExp(`\\b${name}\\b`).test(table));
  assert.deepEqual(missing, []);
  for (const key of ["ca_bundle", "credential_process", "s3.addressing_style", "endpoint_url"]) {
    assert.ok(table.includes(key), key);
  }
});

Deno.test("settings docs: --help has a section on locations and credentials; --profile", async () => {
  const help = await runTool(["--help"]);
  assert.equal(help.code, 0);
  const section = help.stdout.slice(help.stdout.indexOf("Locations and credentials"));
  assert.ok(section.length > 0 && help.stdout.includes("Locations and credentials"));
  for (
    const name of [
      "ISAR_SSTATE_WEBDAV_USER",
      "~/.netrc",
      "AWS_ACCESS_KEY_ID",
      "AWS_ROLE_ARN",
      "AWS_WEB_IDENTITY_TOKEN_FILE",
      "--profile",
      "AWS_PROFILE",
      "credential_process",
      "AWS_ENDPOINT_URL_S3",
      "endpoint_url",
      "s3.addressing_style",
      "AWS_REGION",
      "HTTPS_PROXY",
      "NO_PROXY",
      "AWS_CA_BUNDLE",
      "ca_bundle",
      "DENO_CERT",
      "SSL_CERT_FILE",
      "NODE_EXTRA_CA_CERTS",
    ]
  ) {
    assert.ok(section.includes(name), `--help names ${name}`);
  }
  for (const command of ["upload", "watch", "clean", "info", "analyze", "lint", "diff"]) {
    const page = await runTool([command, "--help"]);
    assert.match(page.stdout, /^ {2}--profile NAME +S3: the AWS profile/m, command);
  }
});
