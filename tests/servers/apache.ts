/**
 * A real Apache 2.4 with mod_dav_fs for tests and benchmarks: started by
 * scripts/servers/start-webdav.sh on 127.0.0.1 with a free port, its own generated config, pid
 * file and lock database in a temporary directory, and stopped by PID (stop-server.sh). A TTL
 * watchdog stops it anyway after `ttlSeconds`, and it is stopped when the test module unloads, so
 * a crashed run leaves no server behind for long.
 */
import { fileURLToPath } from "node:url";

const SCRIPTS = fileURLToPath(new URL("../../scripts/servers/", import.meta.url));

/** How to start the server. */
export interface ApacheOptions {
  /** Require HTTP Basic authentication with this login. */
  auth?: { user: string; password: string };
  /** Serve https:// with a generated CA (its certificate is `ca`). */
  tls?: boolean;
  /** Allow `PROPFIND Depth: infinity` (Apache's default is to refuse it with 403). */
  depthInfinity?: boolean;
  /** The port to listen on (default: a free one). */
  port?: number;
  /** Seconds after which the watchdog stops the server (default 1200). */
  ttlSeconds?: number;
}

/** A running Apache. */
export interface Apache extends AsyncDisposable {
  /** `http(s)://127.0.0.1:PORT/sstate/`, without credentials. */
  url: string;
  port: number;
  /** The directory it serves. */
  dir: string;
  /** Config, pid file, logs, lock database. */
  state: string;
  /** access.log: `%h %u %t "%r" %>s %b %D %k` per request (%k: earlier requests on its connection). */
  accessLog: string;
  /** The generated CA certificate (with `tls`). */
  ca?: string;
  /** Stops the server and removes its directories (idempotent). */
  stop(): Promise<void>;
}

/** Whether Apache is installed (scripts/setup-servers.sh installs it). */
export function haveApache(): boolean {
  try {
    return Deno.statSync("/usr/sbin/apache2").isFile;
  } catch {
    return false;
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Starts an Apache serving a fresh, empty directory. */
export async function startApache(options: ApacheOptions = {}): Promise<Apache> {
  const root = await Deno.makeTempDir({ prefix: "isar-sstate-apache-" });
  // The server's children (www-data when started by root) must reach the served directory.
  await Deno.chmod(root, 0o755);
  const dir = `${root}/data`;
  const state = `${root}/state`;
  const env: Record<string, string> = {
    WEBDAV_STATE: state,
    LAB_TTL: String(options.ttlSeconds ?? 1200),
    WEBDAV_TLS: options.tls ? "1" : "0",
    WEBDAV_DEPTH_INFINITY: options.depthInfinity ? "1" : "0",
  };
  if (options.auth) env.WEBDAV_AUTH = `${options.auth.user}:${options.auth.password}`;
  let out: Deno.CommandOutput | undefined;
  let port = 0;
  for (let attempt = 0; attempt < (options.port ? 1 : 5); attempt++) {
    port = options.port ?? freePort();
    out = await new Deno.Command("bash", {
      args: [`${SCRIPTS}start-webdav.sh`, dir, String(port)],
      env,
      stdin: "null",
    }).output();
    if (out.success) break;
    // Another process took the port meanwhile: stop what may have started, try another.
    stopSync(state);
  }
  const text = new TextDecoder().decode(out!.stdout);
  if (!out!.success) {
    await Deno.remove(root, { recursive: true }).catch(() => {});
    throw new Error(`Apache did not start: ${new TextDecoder().decode(out!.stderr)}`);
  }
  const vars = Object.fromEntries(
    text.trim().split("\n").map((line) => {
      const eq = line.indexOf("=");
      return [line.slice(0, eq), line.slice(eq + 1)];
    }),
  );
  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    globalThis.removeEventListener("unload", stopNow);
    stopSync(state);
    try {
      Deno.removeSync(root, { recursive: true });
    } catch {
      // already gone
    }
  };
  globalThis.addEventListener("unload", stopNow);
  const stop = () => Promise.resolve(stopNow());
  return {
    url: vars.WEBDAV_URL,
    port,
    dir,
    state,
    accessLog: `${state}/access.log`,
    ca: vars.WEBDAV_CA,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Stops the server of a state directory by the PIDs it recorded (never by name). */
function stopSync(state: string): void {
  try {
    new Deno.Command("bash", {
      args: [`${SCRIPTS}stop-server.sh`, state],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).outputSync();
  } catch {
    // nothing was started
  }
}

/**
 * The lines of Apache's access log from line `from` on. Apache writes a request's line just after
 * its response, so a client can be faster than the log: this waits until the log has stopped
 * growing (three reads 20 ms apart agree).
 */
async function settledLog(apache: Apache, from: number): Promise<string[]> {
  const read = () => Deno.readTextFile(apache.accessLog).catch(() => "");
  let text = await read();
  for (let same = 0; same < 2;) {
    await new Promise((r) => setTimeout(r, 20));
    const again = await read();
    same = again.length === text.length ? same + 1 : 0;
    text = again;
  }
  return text.split("\n").filter(Boolean).slice(from);
}

/** The requests Apache logged from line `from` on, as `METHOD path status` lines. */
export async function accessLogLines(apache: Apache, from = 0): Promise<string[]> {
  return (await settledLog(apache, from)).map((line) => {
    const m = /"(\S+) (\S+) [^"]*" (\d+)/.exec(line);
    return m ? `${m[1]} ${m[2]} ${m[3]}` : line;
  });
}

/** How many of the requests logged from line `from` on came over a new connection. */
export async function connectionsOpened(apache: Apache, from = 0): Promise<number> {
  return (await settledLog(apache, from)).filter((line) => line.endsWith(" 0")).length;
}
