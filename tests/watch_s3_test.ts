/**
 * `watch` against a real S3 server (Ceph radosgw), reached through a proxy that the test can
 * take down and bring back, as a network outage would.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { collect } from "./backend_conformance.ts";
import { tempDir } from "./helpers.ts";
import { dropBucket, newBucket, openS3, s3Server } from "./servers/ceph.ts";
import { eventually, jsonEvents, spawnTool, writeLikeBitbake } from "./watch_helpers.ts";

/** Deno's cache as it is, whatever HOME the tool runs with. */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;

/** A TCP proxy on a fixed port of 127.0.0.1 that can be stopped (refusing connections) and restarted. */
class SwitchableProxy {
  readonly port: number;
  #listener?: Deno.Listener;
  #conns = new Set<Deno.Conn>();

  constructor(readonly upstreamPort: number) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#serve(this.#listener);
  }

  async #serve(listener: Deno.Listener): Promise<void> {
    try {
      for await (const client of listener) this.#pipe(client);
    } catch {
      // stopped
    }
  }

  async #pipe(client: Deno.Conn): Promise<void> {
    this.#conns.add(client);
    try {
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port: this.upstreamPort });
      this.#conns.add(upstream);
      await Promise.allSettled([
        client.readable.pipeTo(upstream.writable),
        upstream.readable.pipeTo(client.writable),
      ]);
      this.#close(upstream);
    } finally {
      this.#close(client);
    }
  }

  #close(conn: Deno.Conn): void {
    if (!this.#conns.delete(conn)) return;
    try {
      conn.close();
    } catch {
      // closed already
    }
  }

  /** Refuses new connections and cuts those open. */
  stop(): void {
    this.#listener?.close();
    this.#listener = undefined;
    for (const conn of [...this.#conns]) this.#close(conn);
  }

  /** Accepts connections again, on the same port. */
  start(): void {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: this.port });
    this.#serve(this.#listener);
  }
}

Deno.test("watch s3: artifacts reach radosgw; an outage holds them until it is over", async () => {
  const server = await s3Server();
  const bucket = await newBucket(server, "watch");
  const proxy = new SwitchableProxy(Number(new URL(server.endpoint).port));
  await using dir = await tempDir();
  const src = join(dir.path, "sstate");
  await Deno.mkdir(src);
  const env = {
    HOME: dir.path,
    DENO_DIR,
    XDG_CACHE_HOME: join(dir.path, "cache"),
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${proxy.port}`,
    AWS_EC2_METADATA_DISABLED: "true",
  };
  const direct = openS3(server, `s3://${bucket}/sstate`);
  const stored = async () => new Set((await collect(direct)).map((e) => e.path));
  const allStored = async (paths: string[]) => {
    const have = await stored();
    return paths.every((p) => have.has(p));
  };
  const run = spawnTool(["watch", "--json", src, `s3://${bucket}/sstate`], { env });
  try {
    await run.until(/"event":"planned"/);
    const before: string[] = [];
    for (let n = 0; n < 10; n++) before.push(...writeLikeBitbake(src, n, "3"));
    assert.ok(await eventually(() => allStored(before)), run.stdout + run.stderr);

    proxy.stop();
    const during: string[] = [];
    for (let n = 10; n < 20; n++) during.push(...writeLikeBitbake(src, n, "3"));
    await run.until(/"event":"down"/, 60_000);
    proxy.start();
    await run.until(/"event":"up"/, 90_000);
    assert.ok(await eventually(() => allStored(during)), run.stdout + run.stderr);
    run.child.kill("SIGTERM");
    const { code, stdout } = await run.finish();
    assert.equal(code, 0, "a requested stop with everything uploaded");
    const events = jsonEvents(stdout);
    assert.equal(events.filter((e) => e.event === "down").length, 1, "one report per outage");
    const uploaded = events.filter((e) => e.event === "uploaded").map((e) => e.path as string);
    assert.deepEqual(uploaded.sort(), [...before, ...during].sort(), "each once");
    assert.deepEqual([...await stored()].sort(), [...before, ...during].sort());
  } finally {
    try {
      run.child.kill("SIGKILL");
    } catch {
      // ended
    }
    await run.finish();
    proxy.stop();
    await direct.close();
    await dropBucket(server, bucket);
  }
});
