/** Cache locations given on the command line: URL forms and their printable, redacted form. */

/** Settings of remote backends that come from the command line rather than the URL. */
export interface LocationOptions {
  /** S3: the endpoint URL of an S3-compatible store (default: the environment's, or AWS). */
  s3Endpoint?: string;
  /** S3: path-style addressing (default: the profile's `s3.addressing_style`, else auto). */
  s3PathStyle?: boolean;
  /** S3: the AWS profile (default: AWS_PROFILE, else `default`). */
  profile?: string;
}

/**
 * Hides a password in `scheme://user:password@host` (even one with unescaped `@` or `/` in it:
 * everything up to the last `@` counts as user information) and signature-like query parameters.
 */
export function redactUrl(url: string): string {
  let out = url;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/?/i.exec(url)?.[0];
  const at = url.lastIndexOf("@");
  if (scheme && at > scheme.length) {
    const userinfo = url.slice(scheme.length, at);
    const colon = userinfo.indexOf(":");
    if (colon >= 0) out = `${scheme}${userinfo.slice(0, colon)}:***${url.slice(at)}`;
  }
  out = out.replace(
    /([?&](?:[^=&]*(?:signature|token|secret|password|credential|key)[^=&]*)=)[^&]*/gi,
    "$1***",
  );
  return out;
}

/**
 * `text` with every URL in it redacted as `redactUrl` does: for messages that quote what they
 * were given (a URL ends at white space or a quote).
 */
export function redactText(text: string): string {
  return text.replace(/[a-z][a-z0-9+.-]*:\/\/?[^\s'"<>]*/gi, (url) => redactUrl(url));
}

/** Whether a location is a URL other than `file://` (also a malformed `scheme:/…` one). */
export function isRemoteUrl(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\//i.test(location) && !location.startsWith("file://");
}

/** The scheme of a location (`file` for bare paths). */
export function schemeOf(location: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(location);
  return m ? m[1].toLowerCase() : "file";
}
