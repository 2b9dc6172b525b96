/**
 * The AWS shared config and credentials files (`~/.aws/config`, `~/.aws/credentials`), read with
 * the SDK's own loader (`loadSharedConfigFiles`, which parses sub-sections such as
 * `s3 =\n  addressing_style = path` into `s3.addressing_style` and keeps `[services NAME]`
 * sections), and the profile in force: `--profile`, else `AWS_PROFILE`, else `default`.
 */
import { loadSharedConfigFiles } from "@smithy/core/config";
import type { LocationOptions } from "../url.ts";

/** Environment variables as a plain record (`Deno.env.toObject()` in production). */
export type Env = Record<string, string | undefined>;

/** The settings of one profile (or one `[services NAME]` section). */
export type ProfileData = Record<string, string | undefined>;

/** The profile in force, and what named it. */
export interface ProfileChoice {
  name: string;
  /** `--profile`, `AWS_PROFILE`, or undefined for the `default` nobody named. */
  from?: "--profile" | "AWS_PROFILE";
}

/** The two shared files as the SDK parsed them. */
export interface SharedConfig {
  files: { credentials: string; config: string };
  /** Which of the files exist. */
  exists: { credentials: boolean; config: boolean };
  /** `config`'s profiles by name (`[profile x]` as `x`), and `services.NAME` sections. */
  config: Record<string, ProfileData>;
  /** `credentials`' profiles by name. */
  credentials: Record<string, ProfileData>;
}

/** A SharedConfig of no files, for locations resolved from the environment alone. */
export const NO_SHARED_CONFIG: SharedConfig = {
  files: { credentials: "", config: "" },
  exists: { credentials: false, config: false },
  config: {},
  credentials: {},
};

/** The profile that `--profile` (in `options`) or `AWS_PROFILE` names, else `default`. */
export function chooseProfile(options: LocationOptions, env: Env): ProfileChoice {
  const option = options.profile?.trim();
  if (option) return { name: option, from: "--profile" };
  const variable = env.AWS_PROFILE?.trim();
  if (variable) return { name: variable, from: "AWS_PROFILE" };
  return { name: "default" };
}

/** The shared credentials and config files the AWS SDK and CLI read, as `env` names them. */
export function sharedFiles(env: Env): { credentials: string; config: string } {
  const home = env.HOME || env.USERPROFILE || "~";
  const expand = (p: string) => p.startsWith("~/") ? `${home}${p.slice(1)}` : p;
  return {
    credentials: expand(env.AWS_SHARED_CREDENTIALS_FILE || "~/.aws/credentials"),
    config: expand(env.AWS_CONFIG_FILE || "~/.aws/config"),
  };
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Reads the shared files `env` names (missing ones count as empty). */
export async function loadSharedConfig(env: Env): Promise<SharedConfig> {
  const files = sharedFiles(env);
  const parsed = await loadSharedConfigFiles({
    filepath: files.credentials,
    configFilepath: files.config,
    ignoreCache: true,
  });
  return {
    files,
    exists: { credentials: isFile(files.credentials), config: isFile(files.config) },
    config: parsed.configFile as Record<string, ProfileData>,
    credentials: parsed.credentialsFile as Record<string, ProfileData>,
  };
}

/**
 * The settings of profile `name`, both files merged (the config file's win, as the SDK merges
 * them), or undefined when neither file has it.
 */
export function profileData(shared: SharedConfig, name: string): ProfileData | undefined {
  const fromConfig = Object.hasOwn(shared.config, name) ? shared.config[name] : undefined;
  const fromCredentials = Object.hasOwn(shared.credentials, name)
    ? shared.credentials[name]
    : undefined;
  if (!fromConfig && !fromCredentials) return undefined;
  return { ...fromCredentials, ...fromConfig };
}

/** The `[services NAME]` section that profile `profile` names (`services = NAME`), if any. */
export function servicesSection(shared: SharedConfig, profile: ProfileData): ProfileData {
  const name = profile.services;
  const key = `services.${name}`;
  return name && Object.hasOwn(shared.config, key) ? shared.config[key] : {};
}

/**
 * When a profile that someone named (`--profile`, `AWS_PROFILE`) is in neither file, why: the
 * profile and the files read. The AWS CLI refuses such a profile too, whatever else is set.
 */
export function missingProfile(choice: ProfileChoice, shared: SharedConfig): string | undefined {
  if (!choice.from || profileData(shared, choice.name)) return undefined;
  const { files, exists } = shared;
  const read = (file: string, found: boolean) => found ? file : `${file} (missing)`;
  return `AWS profile '${choice.name}' (${choice.from}) not found in ${
    read(files.credentials, exists.credentials)
  } or ${read(files.config, exists.config)}`;
}
