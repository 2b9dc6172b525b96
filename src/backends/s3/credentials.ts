/**
 * Where S3 credentials come from: the AWS CLI's chain, built from the SDK's own providers, each
 * link skipped (with the reason) where nothing configures it:
 *
 * 1. environment (`fromEnv`): AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN. Also
 *    with AWS_PROFILE set (the SDK's own default chain skips them then; the AWS CLI does not);
 *    not with `--profile`, which makes the profile's credentials the ones to use, as in the CLI;
 * 2. web identity (`fromTokenFile`): AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE (and
 *    AWS_ROLE_SESSION_NAME), exchanged at STS (AssumeRoleWithWebIdentity) for temporary keys;
 * 3. the profile (`fromIni`): keys, `credential_process`, `role_arn` with `source_profile` or
 *    `web_identity_token_file`, SSO;
 * 4. a container's credentials endpoint (`fromHttp`, `fromContainerMetadata`):
 *    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or AWS_CONTAINER_CREDENTIALS_FULL_URI;
 * 5. the EC2 instance metadata service (`fromInstanceMetadata`), unless
 *    AWS_EC2_METADATA_DISABLED=true.
 *
 * Written here: the order, the skips and the messages. A link that is configured and fails
 * (a credential_process that fails, STS refusing a token) ends the chain with its error, as in
 * the AWS CLI; when no link has credentials, the error lists every link and why. No message
 * carries a secret, a session token or a web identity token.
 */
import { fromEnv } from "@aws-sdk/credential-provider-env";
import { fromHttp } from "@aws-sdk/credential-provider-http";
import { fromIni } from "@aws-sdk/credential-provider-ini";
import { fromTokenFile } from "@aws-sdk/credential-provider-web-identity";
import { fromContainerMetadata, fromInstanceMetadata } from "@smithy/credential-provider-imds";
import { type Env, missingProfile, profileData, type SharedConfig } from "./profile.ts";
import type { ProfileChoice } from "./profile.ts";

/** Credentials as the SDK takes them. */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** What a provider is called with: the calling client's config (for STS's client). */
type Props = Parameters<ReturnType<typeof fromIni>>[0];
type Provider = (props?: Props) => Promise<Credentials>;

/**
 * Why credentials could not be had: `describe(where)` is the one line to print, naming the S3
 * location. Its name is the SDK's for such errors, so that it counts as refused credentials.
 */
export class CredentialsFailure extends Error {
  override name = "CredentialsProviderError";
  constructor(readonly describe: (where: string) => string) {
    super(describe("S3"));
  }
}

/** The profile keys that give credentials (fromIni's kinds of profile). */
const CREDENTIAL_KEYS = [
  "aws_access_key_id",
  "credential_process",
  "role_arn",
  "web_identity_token_file",
  "sso_session",
  "sso_start_url",
  "sso_account_id",
  "login_session",
];

/** One link of the chain: its name, and either why it is skipped or what it asks. */
interface Link {
  name: string;
  skip?: string;
  provider?: Provider;
  /** Whether its failure is only "nothing here" (the chain goes on) rather than an error. */
  lenient?: boolean;
}

/** What the chain needs: the environment, the profile and the files, STS's handler. */
export interface ChainSettings {
  env: Env;
  profile: ProfileChoice;
  shared: SharedConfig;
  /** The request handler of STS's client (the S3 client's: proxies and CAs apply). */
  requestHandler: unknown;
}

const notSet = (names: string[]) => `${names.join(" and ")} not set`;
/** A provider that fails with `message` (a setting that cannot work as it is). */
const failing = (message: string): Provider => () => Promise.reject(new Error(message));

function environmentLink({ env, profile }: ChainSettings): Link {
  const name = "environment";
  const key = env.AWS_ACCESS_KEY_ID, secret = env.AWS_SECRET_ACCESS_KEY;
  if (profile.from === "--profile") return { name, skip: "not used with --profile" };
  if (!key && !secret) {
    return { name, skip: notSet(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) };
  }
  if (!key) return { name, provider: failing("AWS_ACCESS_KEY_ID is not set") };
  if (!secret) return { name, provider: failing("AWS_SECRET_ACCESS_KEY is not set") };
  return { name, provider: fromEnv() };
}

function webIdentityLink({ env, requestHandler }: ChainSettings): Link {
  const roleArn = env.AWS_ROLE_ARN, tokenFile = env.AWS_WEB_IDENTITY_TOKEN_FILE;
  if (!tokenFile) return { name: "web identity", skip: notSet(["AWS_WEB_IDENTITY_TOKEN_FILE"]) };
  if (!roleArn) {
    return {
      name: "web identity",
      provider: failing("AWS_WEB_IDENTITY_TOKEN_FILE is set, AWS_ROLE_ARN not"),
    };
  }
  return {
    name: `web identity (${roleArn})`,
    provider: fromTokenFile({
      roleArn,
      webIdentityTokenFile: tokenFile,
      roleSessionName: env.AWS_ROLE_SESSION_NAME || undefined,
      clientConfig: { requestHandler },
    }),
  };
}

function profileLink({ profile, shared, requestHandler }: ChainSettings): Link {
  const name = `profile '${profile.name}'`;
  const data = profileData(shared, profile.name);
  const { files } = shared;
  if (!data) return { name, skip: `not in ${files.credentials} or ${files.config}` };
  if (!CREDENTIAL_KEYS.some((k) => data[k])) {
    return { name, skip: `no credentials in it: ${CREDENTIAL_KEYS.slice(0, 4).join(", ")}, …` };
  }
  return {
    name,
    provider: fromIni({
      profile: profile.name,
      filepath: files.credentials,
      configFilepath: files.config,
      ignoreCache: true,
      clientConfig: { requestHandler },
    }),
  };
}

function containerLink({ env }: ChainSettings): Link {
  const vars = ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"];
  if (!vars.some((v) => env[v])) return { name: "container", skip: notSet(vars) };
  return { name: "container", provider: anyOf(fromHttp({}), fromContainerMetadata()) };
}

function instanceLink({ env }: ChainSettings): Link {
  const off = env.AWS_EC2_METADATA_DISABLED;
  if (off && off.toLowerCase() !== "false") {
    return { name: "instance metadata", skip: `AWS_EC2_METADATA_DISABLED=${off}` };
  }
  return { name: "instance metadata", provider: fromInstanceMetadata(), lenient: true };
}

/** The links of the chain, in order, as `s` configures them. */
function links(s: ChainSettings): Link[] {
  return [environmentLink, webIdentityLink, profileLink, containerLink, instanceLink]
    .map((link) => link(s));
}

/** The first of `providers` that gives credentials; the last one's failure if none does. */
function anyOf(...providers: Provider[]): Provider {
  return async (props) => {
    let last: unknown;
    for (const p of providers) {
      try {
        return await p(props);
      } catch (err) {
        last = err;
      }
    }
    throw last;
  };
}

/** The values that must never be printed: secret keys, session tokens, web identity tokens. */
function secretsOf(s: ChainSettings): string[] {
  const { env } = s;
  const out = [env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN];
  for (
    const profile of [...Object.values(s.shared.credentials), ...Object.values(s.shared.config)]
  ) {
    out.push(profile.aws_secret_access_key, profile.aws_session_token);
  }
  return out.filter((v): v is string => !!v && v.length >= 4);
}

/** The first line of `err`'s message, without secrets or anything like a token. */
function reasonOf(err: unknown, secrets: string[]): string {
  const e = err as { message?: string; name?: string; Code?: string };
  let text = (e?.message ?? String(err)).split("\n")[0].trim() || e?.name || "failed";
  // A failed credential_process: node's message quotes the command line (arguments may hold
  // a secret); its exit is what matters.
  if (/^Command failed:/.test(text)) text = "credential_process failed";
  const code = e?.Code ?? (e?.name && e.name !== "Error" ? e.name : "");
  if (code && !text.includes(code) && code !== "CredentialsProviderError") text += ` (${code})`;
  // An answer of STS (or another service) that the SDK could not read: its status, at least.
  const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  if (status && !text.includes(String(status))) text += ` (HTTP ${status})`;
  for (const secret of secrets) text = text.split(secret).join("***");
  return text.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]*/g, "***");
}

/**
 * The credential provider of an S3 location (see the module's notes). The SDK client memoizes
 * what it returns and asks again before temporary credentials expire.
 */
export function credentialChain(s: ChainSettings): Provider {
  return async (props) => {
    const missing = missingProfile(s.profile, s.shared);
    if (missing) throw new CredentialsFailure(() => missing);
    const secrets = secretsOf(s);
    const tried: string[] = [];
    for (const link of links(s)) {
      if (link.skip) {
        tried.push(`${link.name} (${link.skip})`);
        continue;
      }
      try {
        return await link.provider!(props);
      } catch (err) {
        const reason = reasonOf(err, secrets);
        if (!link.lenient) {
          throw new CredentialsFailure((where) =>
            `cannot get AWS credentials for ${where} from ${link.name}: ${reason}`
          );
        }
        tried.push(`${link.name} (${reason})`);
      }
    }
    throw new CredentialsFailure((where) =>
      `no AWS credentials found for ${where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ` +
      `or name a profile with credentials (AWS_PROFILE, --profile); tried ${tried.join(", ")}`
    );
  };
}
