/** Where the WebDAV backend gets its login: the URL, the environment, or `~/.netrc`. */
import { netrcLogin } from "./netrc.ts";
import type { Credentials } from "./client.ts";

/** Environment variables with the login for URLs that carry none. */
export const USER_VAR = "ISAR_SSTATE_WEBDAV_USER";
export const PASSWORD_VAR = "ISAR_SSTATE_WEBDAV_PASSWORD";

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** The user and password in a URL's user information, if it has both. */
export function urlCredentials(url: URL): Credentials | undefined {
  if (!url.username || !url.password) return undefined;
  return { user: decode(url.username), password: decode(url.password) };
}

/**
 * The credentials for `url`, first found of: the URL's user information (a user without a
 * password takes it from `ISAR_SSTATE_WEBDAV_PASSWORD` or the netrc entry of that user),
 * `ISAR_SSTATE_WEBDAV_USER`/`ISAR_SSTATE_WEBDAV_PASSWORD`, the netrc entry of the host (or its
 * `default`). Undefined when none applies: requests then go without authentication.
 */
export async function credentialsFor(url: URL): Promise<Credentials | undefined> {
  const env = (name: string) => Deno.env.get(name) || undefined;
  const inUrl = urlCredentials(url);
  if (inUrl) return inUrl;
  if (url.username) {
    const user = decode(url.username);
    const password = env(PASSWORD_VAR) ?? (await netrcLogin(url.hostname, user))?.password;
    return { user, password: password ?? "" };
  }
  const user = env(USER_VAR);
  if (user) return { user, password: env(PASSWORD_VAR) ?? "" };
  const entry = await netrcLogin(url.hostname);
  if (entry?.login !== undefined) return { user: entry.login, password: entry.password ?? "" };
  return undefined;
}
