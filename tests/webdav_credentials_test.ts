/** Where WebDAV logins come from: URL, environment, netrc; and netrc parsing. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { netrcLogin, parseNetrc } from "../src/backends/webdav/netrc.ts";
import { credentialsFor } from "../src/backends/webdav/credentials.ts";

Deno.test("netrc: machines, default, quoted values, comments, macros, any whitespace", () => {
  const text = `machine cache.example.com login ci password "pa ss\\"word"
# machine commented.example.com login nobody password nothing
macdef init
  machine evil.example.com login nobody password nothing

machine other.example.com
  login alice
  password wonderland
default login anon password guest`;
  const entries = parseNetrc(text);
  assert.deepEqual(entries.filter((e) => e.machine !== "").map((e) => [e.machine, e.login]), [
    ["cache.example.com", "ci"],
    ["other.example.com", "alice"],
  ]);
  assert.equal(entries[0].password, 'pa ss"word');
  assert.deepEqual(entries.at(-1), { machine: "", login: "anon", password: "guest" });
});

/** Runs `fn` with the given environment variables set (or removed, for undefined). */
async function withEnv(vars: Record<string, string | undefined>, fn: () => Promise<void>) {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, value] of Object.entries(v)) {
      if (value === undefined) Deno.env.delete(k);
      else Deno.env.set(k, value);
    }
  };
  apply(vars);
  try {
    await fn();
  } finally {
    apply(saved);
  }
}

Deno.test("webdav credentials: URL first, then environment, then netrc", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const netrc = join(dir, "netrc");
    await Deno.writeTextFile(
      netrc,
      "machine dav.example.com login fromnetrc password netrcpw\n" +
        "machine dav.example.com login urluser password urluserpw\n" +
        "default login anyone password anypw\n",
    );
    const none = { ISAR_SSTATE_WEBDAV_USER: undefined, ISAR_SSTATE_WEBDAV_PASSWORD: undefined };
    await withEnv({ ...none, NETRC: netrc }, async () => {
      const url = (s: string) => new URL(s);
      assert.deepEqual(await credentialsFor(url("https://u%40x:p%3Aw@dav.example.com/c/")), {
        user: "u@x",
        password: "p:w",
      });
      assert.deepEqual(await credentialsFor(url("https://urluser@dav.example.com/c/")), {
        user: "urluser",
        password: "urluserpw",
      }, "a user in the URL takes that user's netrc password");
      assert.deepEqual(await credentialsFor(url("https://dav.example.com/c/")), {
        user: "fromnetrc",
        password: "netrcpw",
      });
      assert.deepEqual(await credentialsFor(url("http://elsewhere.example.com/")), {
        user: "anyone",
        password: "anypw",
      }, "the default entry");
    });
    await withEnv({
      NETRC: netrc,
      ISAR_SSTATE_WEBDAV_USER: "envuser",
      ISAR_SSTATE_WEBDAV_PASSWORD: "envpw",
    }, async () => {
      assert.deepEqual(await credentialsFor(new URL("https://dav.example.com/c/")), {
        user: "envuser",
        password: "envpw",
      });
      assert.deepEqual(await credentialsFor(new URL("https://someone@dav.example.com/c/")), {
        user: "someone",
        password: "envpw",
      });
    });
    await withEnv({ ...none, NETRC: join(dir, "missing") }, async () => {
      assert.equal(await credentialsFor(new URL("https://dav.example.com/")), undefined);
      assert.equal(await netrcLogin("dav.example.com"), null);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
