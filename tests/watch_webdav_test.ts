/** `watch` against a real WebDAV server (Apache mod_dav_fs on 127.0.0.1). */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { tempDir } from "./helpers.ts";
import { haveApache, startApache } from "./servers/apache.ts";
import { archivePath, assertTargetHolds, jsonEvents, spawnTool } from "./watch_helpers.ts";

const FAKE_BITBAKE = fileURLToPath(new URL("./fake_bitbake.ts", import.meta.url));
/** Deno's cache as it is, whatever XDG_CACHE_HOME the tool runs with. */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;

Deno.test({
  name: "watch webdav: a wrapped build's artifacts reach Apache, each once",
  ignore: !haveApache(),
  async fn() {
    await using apache = await startApache();
    await using dir = await tempDir();
    const src = join(dir.path, "sstate");
    await Deno.mkdir(src);
    const env = { XDG_CACHE_HOME: join(dir.path, "cache"), DENO_DIR };
    const build = [Deno.execPath(), "run", "-A", "--quiet", FAKE_BITBAKE, src, "60", "0"];
    const run = spawnTool(["watch", "--json", src, `${apache.url}cache/`, "--", ...build], {
      env,
    });
    const { code, stdout, stderr } = await run.finish();
    assert.equal(code, 0, stderr);
    const expected = Array.from({ length: 60 }, (_, n) => archivePath(n))
      .flatMap((p) => [p, `${p}.siginfo`]);
    await assertTargetHolds(join(apache.dir, "cache"), expected);
    const uploaded = jsonEvents(stdout).filter((e) => e.event === "uploaded");
    assert.deepEqual(uploaded.map((e) => e.path).sort(), [...expected].sort());
  },
});
