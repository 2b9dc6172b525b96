/** `--help` texts: the global overview and each command's page. */
import { OPTION_SPECS } from "./args.ts";
import type { Command } from "../commands/command.ts";
import type { CommandEntry } from "../commands/registry.ts";
import { REFERENCE_OPTIONS } from "../commands/options.ts";
import { ALWAYS_ALLOWED, ignoredOptions } from "./option_check.ts";

/** One line of help per option (long name → text). */
const OPTION_HELP: Record<string, string> = {
  help: "show help (global, or for the command given) and exit",
  version: "print the version and exit",
  verbose: "print more details",
  quiet: "leave out INFO: lines (warnings, errors and listings stay)",
  debug: "show stack traces for unexpected errors",
  "dry-run": "show what would be done without changing the target",
  json: "print machine-readable JSON instead of text",
  jobs: "operations in parallel (default: what suits the target, 8 for remote ones)",
  color: "colour output: auto (on a terminal, unless NO_COLOR is set), always, never",
  "max-age": "delete archives last used at least this long ago: N followed by w|d|h|m|s " +
    "(default 1d)",
  "max-sig-age": "delete siginfo files last used at least this long ago (default and minimum: " +
    "MAX_AGE)",
  filter: "only recipes whose PN matches this regex (matched at the start of PN)",
  arch: "only artifacts of this SSTATE_PKGARCH (exact match, e.g. arm64)",
  "sources-dir": "absolute path of the sources (layers) (default /work/)",
  "build-dir": "absolute path of the build directory (default /build/tmp/)",
  pedantic: "also check tasks in --excluded-tasks",
  "exit-code": "exit with N instead of the number of issues found",
  "lint-stamps": "TARGET is a bitbake stamps directory (local path only)",
  "excluded-tasks": "comma-separated task patterns to skip (default rootfs_wicenv,image_wic)",
  "cache-dir": "an sstate cache to look up dependencies' siginfo files in",
  "s3-endpoint": "S3: endpoint URL of an S3-compatible store (default: AWS_ENDPOINT_URL_S3, " +
    "AWS_ENDPOINT_URL, the profile's, else AWS)",
  "s3-path-style": "S3: path-style addressing (default: the profile's s3.addressing_style; " +
    "auto: on when an endpoint is set)",
  profile: "S3: the AWS profile (default: AWS_PROFILE, else default); its keys over " +
    "AWS_ACCESS_KEY_ID's, as in the AWS CLI",
  settle: "upload a new file once unchanged for this many ms (default 200)",
  "rescan-interval": "rescan the whole source every S seconds as a safety net (default 60)",
  "refresh-after": "mark artifacts the target has as used (refresh them) when this build " +
    "used them later than DURATION after their last use there: N followed by w|d|h|m|s " +
    "(default 1d; 0: never)",
  "keep-stamps": "never delete artifacts whose hash this bitbake stamps directory names " +
    "(repeatable)",
  "keep-newest": "also delete all but the N most recently used versions of each " +
    "recipe/arch/task",
  "max-size": "then delete least recently used archives until the cache is at most SIZE " +
    "(e.g. 500G, 2T)",
  "last-use": "also report how much was last used within 1 day, 1 week, 4 weeks, or earlier",
  "index-file": "keep the target's index in this file between runs (default: in " +
    "$XDG_CACHE_HOME/isar-sstate/; '' for none)",
};

/** Options the overview describes; each command's page lists the ones it takes. */
const GLOBAL_OPTIONS = ["help", "version", "quiet", "debug"];

function optionLine(long: string, text = OPTION_HELP[long]): string {
  const spec = OPTION_SPECS.find((s) => s.long === long)!;
  const names = [spec.short ? `-${spec.short}` : "", `--${spec.long}`].filter(Boolean).join(", ");
  const flag = spec.kind === "flag" ? names : `${names} ${spec.metavar}`;
  return `  ${flag.padEnd(26)} ${text}`;
}

function wrap(text: string, width = 92, indent = "  "): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + word.length + 1 > width - indent.length) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines.join("\n");
}

/** The settings of remote locations, for the overview: topic and text. */
const SETTINGS_HELP: [string, string][] = [
  [
    "WebDAV",
    "user and password from the URL (https://user:password@host/...), else " +
    "ISAR_SSTATE_WEBDAV_USER and ISAR_SSTATE_WEBDAV_PASSWORD, else ~/.netrc ($NETRC)",
  ],
  [
    "S3 keys",
    "as the AWS CLI, first found of: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY " +
    "(AWS_SESSION_TOKEN; not with --profile); web identity (AWS_ROLE_ARN and " +
    "AWS_WEB_IDENTITY_TOKEN_FILE); the profile (--profile, else AWS_PROFILE, else default) in " +
    "~/.aws/credentials and ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE): keys, " +
    "credential_process, role_arn, web_identity_token_file, sso; a container's or the EC2 " +
    "instance's credentials",
  ],
  [
    "S3 store",
    "endpoint: --s3-endpoint, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's services " +
    "section (s3 = endpoint_url = URL), its endpoint_url; addressing: --s3-path-style, the " +
    "profile's s3.addressing_style (path, virtual, auto: path-style with an endpoint); region: " +
    "AWS_REGION, AWS_DEFAULT_REGION, the profile's region",
  ],
  [
    "proxies",
    "HTTPS_PROXY for https URLs, HTTP_PROXY for http ones, else ALL_PROXY (http:// proxies, " +
    "http://user:password@host:port); NO_PROXY: hosts with their subdomains, host:port, IP " +
    "addresses, CIDR ranges, *. Lower-case spellings first",
  ],
  [
    "CAs",
    "PEM files trusted besides DENO_TLS_CA_STORE (mozilla, system): S3's AWS_CA_BUNDLE, else " +
    "the profile's ca_bundle; for every https URL DENO_CERT, SSL_CERT_FILE, NODE_EXTRA_CA_CERTS",
  ],
];

/** The "Locations and credentials" section of the overview. */
function settingsSection(): string[] {
  return [
    "Locations and credentials (details in the README):",
    ...SETTINGS_HELP.map(([topic, text]) =>
      `  ${topic.padEnd(9)} ${wrap(text, 92, " ".repeat(12)).trimStart()}`
    ),
  ];
}

/** The overview printed by `isar-sstate --help`. */
export function globalHelp(commands: readonly CommandEntry[], version: string): string {
  return [
    `isar-sstate ${version}: manage shared bitbake sstate caches (Isar, Yocto)`,
    "",
    "usage: isar-sstate COMMAND [SOURCE] TARGET [options]",
    "",
    "commands:",
    ...commands.map((c) => `  ${c.name.padEnd(9)} ${c.summary}`),
    "",
    "locations (SOURCE is a local directory; TARGET any of):",
    "  /path or file:///path        a directory (local or mounted)",
    "  http(s)://host/path          a WebDAV share (e.g. Apache mod_dav)",
    "  s3://bucket/prefix           an S3 bucket (AWS or S3-compatible)",
    "",
    ...settingsSection(),
    "",
    "options of every command:",
    ...GLOBAL_OPTIONS.map((o) => optionLine(o)),
    "",
    wrap(
      "Options may come before or after the positional arguments. Every command accepts every " +
        `option of the Python isar-sstate (${
          REFERENCE_OPTIONS.filter((o) => o !== "help").map((o) => `--${o}`).join(", ")
        }), as that tool does, so that one option set can be passed to all commands; where ` +
        "one has no effect, a warning says so.",
      92,
      "",
    ),
    "Run 'isar-sstate COMMAND --help' for a command's options and examples.",
    "",
    "exit codes: 0 success, 1 failure or invalid input, 2 command-line syntax error",
    "            (lint: the number of issues found, see 'isar-sstate lint --help')",
  ].join("\n");
}

/** The note on the Python tool's options that the command accepts without effect, if any. */
function ignoredLines(command: Command): string[] {
  if (ignoredOptions(command).length === 0) return [];
  const text = "The Python isar-sstate's other options are accepted too (one option set may be " +
    "passed to every command); they have no effect here, and a warning says so. See " +
    "'isar-sstate --help'.";
  return ["", wrap(text)];
}

/** The page printed by `isar-sstate COMMAND --help`. */
export function commandHelp(command: Command): string {
  return [
    `usage: isar-sstate ${command.name} ${command.positionals} [options]`,
    "",
    wrap(command.description, 92, ""),
    "",
    "options:",
    ...command.options.map((o) => optionLine(o, command.optionHelp?.[o])),
    ...ALWAYS_ALLOWED.map((o) => optionLine(o)),
    ...ignoredLines(command),
    "",
    "examples:",
    ...command.examples.map((e) => `  ${e}`),
  ].join("\n");
}
