/**
 * `watch` through a real forward proxy (tinyproxy) to a real Apache: when the proxy goes away,
 * the outage is reported as the proxy's (naming it and its variable), not as the target being
 * down; the JSON events say which of the two is unreachable.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { listFiles, tempDir } from "./helpers.ts";
import { assertDocumented } from "./json_schema.ts";
import { haveApache, startApache } from "./servers/apache.ts";
import { haveTinyproxy, startTinyproxy } from "./servers/tinyproxy.ts";
import { eventually, jsonEvents, spawnTool, writeLikeBitbake } from "./watch_helpers.ts";

/** Deno's cache as it is, whatever HOME the tool runs with. */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;

Deno.test({
  name: "watch: a proxy that goes away is reported as the proxy, not as the target being down",
  ignore: !haveApache() || !haveTinyproxy(),
  async fn() {
    await using apache = await startApache();
    const proxy = await startTinyproxy();
    await using dir = await tempDir();
    const src = join(dir.path, "sstate");
    await Deno.mkdir(src);
    const env = {
      HOME: dir.path,
      DENO_DIR,
      XDG_CACHE_HOME: join(dir.path, "xdg"),
      DENO_NO_UPDATE_CHECK: "1",
      NO_PROXY: "",
      HTTP_PROXY: proxy.url,
    };
    const url = `${apache.url}cache/`;
    const run = spawnTool(["watch", "--json", src, url], { env });
    try {
      await run.until(/"event":"planned"/);
      const first = writeLikeBitbake(src, 1, "p");
      const stored = async () =>
        (await listFiles(join(apache.dir, "cache")).catch(() => [])).length;
      assert.ok(await eventually(async () => (await stored()) === first.length), run.stderr);
      assert.ok((await proxy.requests()).some((r) => r.startsWith(`PUT ${url}`)), "via the proxy");

      await proxy.stop();
      for (let n = 2; n < 5; n++) writeLikeBitbake(src, n, "p");
      await run.until(/"event":"down"/, 60_000);
      const warning = run.stderr.split("\n").find((l) => / is unreachable /.test(l))!;
      assert.match(
        warning,
        new RegExp(
          `^WARNING: the proxy ${proxy.url}/ \\(HTTP_PROXY\\) is unreachable \\(cannot connect to ` +
            `the proxy ${proxy.url}/ \\(HTTP_PROXY\\) for 127\\.0\\.0\\.1:${apache.port}: ` +
            "Connection refused\\); \\d+ files wait for it",
        ),
      );
      assert.ok(!run.stderr.includes(`${url} is unreachable`), "the target is not said to be down");
      const down = jsonEvents(run.stdout).find((e) => e.event === "down")!;
      assertDocumented("watch-event", down);
      assert.equal(down.unreachable, "proxy");
      assert.deepEqual(down.proxy, { url: `${proxy.url}/`, variable: "HTTP_PROXY" });
      await run.until(/is still unreachable after/, 30_000);
      assert.match(
        run.stderr,
        new RegExp(
          `^INFO: the proxy ${proxy.url}/ \\(HTTP_PROXY\\) is still unreachable after \\d+s`,
          "m",
        ),
      );
      // The target itself is up all along.
      assert.equal(await stored(), first.length);
    } finally {
      run.child.kill("SIGTERM");
      await run.until(/^interrupted: finishing/m);
      run.child.kill("SIGTERM");
      const { code, stdout } = await run.finish();
      assert.equal(code, 143, "the stop left files behind");
      for (const event of jsonEvents(stdout)) assertDocumented("watch-event", event);
      await proxy.stop();
    }
  },
});
