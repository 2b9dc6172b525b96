/** Logins from a `.netrc` file (`$NETRC`, else `~/.netrc`), as curl and ftp read them. */

/** One `machine` (or the `default`) entry. */
export interface NetrcEntry {
  /** Host name, or "" for the `default` entry. */
  machine: string;
  login?: string;
  password?: string;
}

/**
 * Parses netrc text: `machine HOST`, `default`, `login`, `password` and `account` tokens,
 * separated by any whitespace, values optionally in double quotes; `#` comments and `macdef`
 * bodies (up to an empty line) are skipped.
 */
export function parseNetrc(text: string): NetrcEntry[] {
  const entries: NetrcEntry[] = [];
  const tokens = tokenize(text);
  let current: NetrcEntry | null = null;
  for (let i = 0; i < tokens.length; i++) {
    const next = () => tokens[++i];
    switch (tokens[i]) {
      case "machine":
        current = { machine: next() ?? "" };
        entries.push(current);
        break;
      case "default":
        current = { machine: "" };
        entries.push(current);
        break;
      case "login":
        if (current) current.login = next();
        else next();
        break;
      case "password":
        if (current) current.password = next();
        else next();
        break;
      case "account":
        next();
        break;
    }
  }
  return entries;
}

/** The tokens of netrc text, without macro bodies. */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i])) i++;
    if (i >= text.length) break;
    if (text[i] === "#") {
      // A comment, to the end of the line.
      const eol = text.indexOf("\n", i);
      i = eol < 0 ? text.length : eol + 1;
      continue;
    }
    let value = "";
    if (text[i] === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === "\\" && i + 1 < text.length) i++;
        value += text[i];
      }
      i++;
    } else {
      while (i < text.length && !/\s/.test(text[i])) value += text[i++];
    }
    if (value === "macdef") {
      // The macro's name, then its body up to the next empty line.
      const nameEnd = text.indexOf("\n", i);
      const bodyEnd = nameEnd < 0 ? -1 : text.indexOf("\n\n", nameEnd);
      i = bodyEnd < 0 ? text.length : bodyEnd + 2;
    } else tokens.push(value);
  }
  return tokens;
}

/**
 * The netrc entry for `host` (and `login`, when the URL names a user), else the `default`
 * entry; null when there is no netrc file or no matching entry.
 */
export async function netrcLogin(host: string, login?: string): Promise<NetrcEntry | null> {
  const path = Deno.env.get("NETRC") ??
    (Deno.env.get("HOME") ? `${Deno.env.get("HOME")}/.netrc` : "");
  if (!path) return null;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return null;
  }
  const entries = parseNetrc(text);
  const fits = (e: NetrcEntry) => login === undefined || e.login === undefined || e.login === login;
  return entries.find((e) => e.machine.toLowerCase() === host.toLowerCase() && fits(e)) ??
    entries.find((e) => e.machine === "" && fits(e)) ?? null;
}
