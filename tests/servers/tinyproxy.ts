/**
 * A real forward proxy for tests: Debian's tinyproxy on 127.0.0.1 and a free port, with its own
 * config and log in a temporary directory, run in the foreground as a child of the test (under
 * `timeout`, as a time limit) and stopped by its PID.
 */

/** A running tinyproxy. */
export interface Tinyproxy extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`, for HTTP_PROXY / HTTPS_PROXY. */
  url: string;
  port: number;
  /** The requests it logged so far: `METHOD URL` (CONNECT: `CONNECT host:port`). */
  requests(): Promise<string[]>;
  stop(): Promise<void>;
}

/** Whether tinyproxy is installed (scripts/setup-servers.sh installs it). */
export function haveTinyproxy(): boolean {
  try {
    return Deno.statSync("/usr/bin/tinyproxy").isFile;
  } catch {
    return false;
  }
}

/** A port of 127.0.0.1 that nothing listens on (for now). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function accepts(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts tinyproxy, allowing clients of 127.0.0.1 to any port (CONNECT included); with `auth`,
 * only clients that send this login (`Proxy-Authorization: Basic`).
 */
export async function startTinyproxy(
  auth?: { user: string; password: string },
): Promise<Tinyproxy> {
  const dir = await Deno.makeTempDir({ prefix: "isar-sstate-tinyproxy-" });
  const log = `${dir}/tinyproxy.log`;
  for (let attempt = 0;; attempt++) {
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/tinyproxy.conf`,
      [
        `Port ${port}`,
        "Listen 127.0.0.1",
        "Timeout 60",
        `LogFile "${log}"`,
        "LogLevel Connect",
        "MaxClients 64",
        "Allow 127.0.0.1",
        ...(auth ? [`BasicAuth ${auth.user} ${auth.password}`] : []),
        "",
      ].join("\n"),
    );
    // `timeout` stops it after 20 minutes should the test never do (a crashed run).
    const child = new Deno.Command("timeout", {
      args: ["1200", "/usr/bin/tinyproxy", "-d", "-c", `${dir}/tinyproxy.conf`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = await accepts(port);
      if (!up) await new Promise((r) => setTimeout(r, 50));
    }
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      try {
        child.kill("SIGTERM");
      } catch {
        // ended already
      }
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    };
    if (!up) {
      if (attempt < 3) {
        child.kill("SIGTERM");
        await child.status;
        continue; // the port was taken meanwhile
      }
      await stop();
      throw new Error("tinyproxy did not start");
    }
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      async requests() {
        const text = await Deno.readTextFile(log).catch(() => "");
        return [...text.matchAll(/Request \(file descriptor \d+\): (\S+) (\S+)/g)]
          .map((m) => `${m[1]} ${m[2]}`);
      },
      stop,
      [Symbol.asyncDispose]: stop,
    };
  }
}
