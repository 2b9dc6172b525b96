/** Opening an S3 location as the command line does: with the AWS shared config files read. */
import type { LocationOptions } from "../url.ts";
import { resolveS3Location, type S3Location } from "./config.ts";
import { loadSharedConfig } from "./profile.ts";
import { S3Backend, type S3BackendSettings } from "./s3.ts";

/**
 * The backend of `location` (an `s3://` URL, or a location parsed without the shared files),
 * resolved with `options`, the environment and the profile in force in the shared files.
 */
export async function openS3Backend(
  location: string | S3Location,
  options: LocationOptions = {},
  settings: S3BackendSettings = {},
): Promise<S3Backend> {
  const env = settings.env ?? Deno.env.toObject();
  const url = typeof location === "string" ? location : location.displayUrl;
  const shared = await loadSharedConfig(env);
  return new S3Backend(resolveS3Location(url, options, env, shared), options, settings);
}
