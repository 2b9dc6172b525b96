/** Cache locations given on the command line: URL forms and their printable, redacted form. */

/** Hides a password in `scheme://user:password@host` and signature-like query parameters. */
export function redactUrl(url: string): string {
  let out = url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/@]*)@/i, (_m, scheme, userinfo: string) => {
    const colon = userinfo.indexOf(":");
    return `${scheme}${colon >= 0 ? userinfo.slice(0, colon) + ":***" : userinfo}@`;
  });
  out = out.replace(
    /([?&](?:[^=&]*(?:signature|token|secret|password|credential|key)[^=&]*)=)[^&]*/gi,
    "$1***",
  );
  return out;
}

/** The scheme of a location (`file` for bare paths). */
export function schemeOf(location: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(location);
  return m ? m[1].toLowerCase() : "file";
}
