/**
 * Environments for runs of the tool that read none of this machine's AWS, proxy or CA settings,
 * and a small source cache, for the tests of those settings.
 */
import { join } from "node:path";
import { writeLikeBitbake } from "./watch_helpers.ts";

/** Deno's cache as it is, whatever HOME the tool runs with. */
export const DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;

/** Every setting these tests concern, empty (the tool reads an empty variable as unset). */
const BLANK = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_PROFILE",
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_S3",
  "AWS_ENDPOINT_URL_STS",
  "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_CA_BUNDLE",
  "AWS_ROLE_ARN",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "DENO_CERT",
  "SSL_CERT_FILE",
  "NODE_EXTRA_CA_CERTS",
  "DENO_TLS_CA_STORE",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "NO_PROXY",
];

/**
 * An environment for the tool with HOME at `home` and none of the settings above (never the
 * EC2 metadata service), plus `extra`.
 */
export function isolatedEnv(
  home: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...Object.fromEntries(BLANK.map((name) => [name, ""])),
    HOME: home,
    DENO_DIR,
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
    AWS_EC2_METADATA_DISABLED: "true",
    ...extra,
  };
}

/** A source cache of `n` artifacts (siginfo and archive each) in `dir`/sstate; its paths. */
export function makeSource(dir: string, n = 3, tag = "s"): { src: string; paths: string[] } {
  const src = join(dir, "sstate");
  const paths = Array.from({ length: n }, (_, i) => writeLikeBitbake(src, i, tag)).flat();
  return { src, paths: paths.sort() };
}

/** The ERROR: lines of a run's output. */
export function errorLines(text: string): string[] {
  return text.split("\n").filter((l) => l.startsWith("ERROR:"));
}
