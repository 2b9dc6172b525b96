/**
 * The S3 server of the tests: Ceph radosgw on 127.0.0.1. scripts/test.sh starts one for the whole
 * run and describes it in S3_* environment variables; a test file run on its own starts its own
 * (about 20 s) and stops it by PID when it ends. A TTL watchdog stops any server a crashed run
 * leaves behind.
 */
import { fileURLToPath } from "node:url";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  PutBucketPolicyCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { S3Backend, type S3BackendSettings } from "../../src/backends/s3/s3.ts";

/** A running S3 server and its credentials. */
export interface S3Server {
  endpoint: string;
  region: string;
  /** A bucket that exists. */
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Credentials of a second user, who owns nothing. */
  other: { accessKeyId: string; secretAccessKey: string };
  /** radosgw's log, with one access-log line per request. */
  log: string;
  /** The directory of the server's Ceph cluster (start-s3.sh's DIR). */
  state: string;
}

const START = fileURLToPath(new URL("../../scripts/servers/start-s3.sh", import.meta.url));
const START_RGW = fileURLToPath(new URL("../../scripts/servers/start-rgw.sh", import.meta.url));
const STOP = fileURLToPath(new URL("../../scripts/servers/stop-server.sh", import.meta.url));

let server: Promise<S3Server> | undefined;

function fromEnv(): S3Server | undefined {
  const get = (name: string) => Deno.env.get(name);
  const endpoint = get("S3_ENDPOINT");
  if (!endpoint) return undefined;
  const state = get("S3_STATE") ?? "";
  return {
    endpoint,
    region: get("S3_REGION") ?? "us-east-1",
    bucket: get("S3_BUCKET") ?? "sstate",
    accessKeyId: get("S3_ACCESS_KEY_ID") ?? "",
    secretAccessKey: get("S3_SECRET_ACCESS_KEY") ?? "",
    other: {
      accessKeyId: get("S3_OTHER_ACCESS_KEY_ID") ?? "",
      secretAccessKey: get("S3_OTHER_SECRET_ACCESS_KEY") ?? "",
    },
    log: `${state}/ceph/log/client.rgw.test.log`,
    state,
  };
}

async function commandExists(name: string): Promise<boolean> {
  const out = await new Deno.Command("bash", { args: ["-c", `command -v ${name}`] }).output();
  return out.success;
}

/** Two free consecutive ports on 127.0.0.1 (radosgw, then the monitor). */
function freePorts(): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      Deno.listen({ hostname: "127.0.0.1", port: port + 1 }).close();
      return port;
    } catch {
      // taken; try another
    }
  }
  throw new Error("no free port pair on 127.0.0.1");
}

async function start(): Promise<S3Server> {
  if (!(await commandExists("ceph-mon")) || !(await commandExists("radosgw"))) {
    throw new Error(
      "the S3 tests need Ceph's radosgw, ceph-mon and ceph-osd: run scripts/setup-servers.sh " +
        "(as root), then scripts/test.sh",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "isar-sstate-s3-" });
  const out = await new Deno.Command("bash", {
    args: [START, dir, String(freePorts())],
    env: { LAB_TTL: "1200" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  // Stopped when this test module ends, whatever happened.
  globalThis.addEventListener("unload", () => {
    new Deno.Command("bash", { args: [STOP, dir], stdout: "null", stderr: "null" }).outputSync();
    Deno.removeSync(dir, { recursive: true });
  });
  if (!out.success) {
    throw new Error(`starting radosgw failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  const vars = Object.fromEntries(
    new TextDecoder().decode(out.stdout).trim().split("\n").map((line) => {
      const eq = line.indexOf("=");
      return [line.slice(0, eq), line.slice(eq + 1)];
    }),
  );
  return {
    endpoint: vars.S3_ENDPOINT,
    region: vars.S3_REGION,
    bucket: vars.S3_BUCKET,
    accessKeyId: vars.S3_ACCESS_KEY_ID,
    secretAccessKey: vars.S3_SECRET_ACCESS_KEY,
    other: {
      accessKeyId: vars.S3_OTHER_ACCESS_KEY_ID,
      secretAccessKey: vars.S3_OTHER_SECRET_ACCESS_KEY,
    },
    log: `${vars.S3_STATE}/ceph/log/client.rgw.test.log`,
    state: vars.S3_STATE,
  };
}

/** The test run's S3 server, started on first use when the run did not start one. */
export function s3Server(): Promise<S3Server> {
  return server ??= Promise.resolve(fromEnv() ?? start());
}

/** Backend settings that reach `s`: its credentials and region, nothing from the environment. */
export function settingsFor(s: S3Server): S3BackendSettings {
  return {
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
    env: { AWS_REGION: s.region, AWS_ENDPOINT_URL: s.endpoint },
  };
}

/** An S3 backend on `s` for `url`. */
export function openS3(s: S3Server, url: string): S3Backend {
  return new S3Backend(url, {}, settingsFor(s));
}

/** A plain SDK client on `s`, for setting up and checking. */
export function sdkClient(s: S3Server): S3Client {
  return new S3Client({
    endpoint: s.endpoint,
    region: s.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

let bucketCounter = 0;

/** A name for a bucket that does not exist yet. */
export function newBucketName(tag: string): string {
  const rand = crypto.randomUUID().slice(0, 8);
  return `t-${tag}-${Date.now().toString(36)}-${rand}-${++bucketCounter}`.toLowerCase();
}

/** Creates a new, empty bucket and returns its name. */
export async function newBucket(s: S3Server, tag: string): Promise<string> {
  const name = newBucketName(tag);
  const client = sdkClient(s);
  try {
    await client.send(new CreateBucketCommand({ Bucket: name }));
  } finally {
    client.destroy();
  }
  return name;
}

/** Deletes every object in `bucket` and the bucket (best effort: the server may be gone). */
export async function dropBucket(s: S3Server, bucket: string): Promise<void> {
  const backend = openS3(s, `s3://${bucket}`);
  try {
    const paths: string[] = [];
    for await (const batch of backend.list()) paths.push(...batch.map((e) => e.path));
    for (let i = 0; i < paths.length; i += 1000) {
      await backend.deleteMany(paths.slice(i, i + 1000));
    }
    await backend.client.send(new DeleteBucketCommand({ Bucket: bucket }));
  } catch {
    // gone already
  } finally {
    await backend.close();
  }
}

/** Requests an SDK client sent (every attempt counts), by command name. */
export interface RequestLog {
  /** Requests per command, e.g. "PutObjectCommand". */
  counts: Map<string, number>;
  /** The most requests of one command that were in flight at once. */
  maxInFlight: Map<string, number>;
  /** Requests of all commands. */
  total(): number;
}

let counterId = 0;

/** Starts counting the HTTP requests that `client` sends. */
export function countRequests(client: S3Client): RequestLog {
  const counts = new Map<string, number>();
  const maxInFlight = new Map<string, number>();
  const inFlight = new Map<string, number>();
  client.middlewareStack.add(
    // deno-lint-ignore no-explicit-any
    (next: any, context: any) => async (args: any) => {
      const name: string = context.commandName;
      counts.set(name, (counts.get(name) ?? 0) + 1);
      inFlight.set(name, (inFlight.get(name) ?? 0) + 1);
      maxInFlight.set(name, Math.max(maxInFlight.get(name) ?? 0, inFlight.get(name)!));
      try {
        return await next(args);
      } finally {
        inFlight.set(name, inFlight.get(name)! - 1);
      }
    },
    { step: "deserialize", priority: "low", name: `testRequestCounter${++counterId}` },
  );
  return { counts, maxInFlight, total: () => [...counts.values()].reduce((a, b) => a + b, 0) };
}

/** The requests radosgw logged for `bucket` so far, as `METHOD /bucket/...?query` lines. */
export async function serverRequests(s: S3Server, bucket: string): Promise<string[]> {
  // radosgw writes its log behind the answers: wait until it has been quiet for a moment.
  let size = -1;
  for (let i = 0; i < 20; i++) {
    const now = (await Deno.stat(s.log)).size;
    if (now === size) break;
    size = now;
    await new Promise((r) => setTimeout(r, 300));
  }
  const text = await Deno.readTextFile(s.log);
  const re = new RegExp(`"([A-Z]+ /${bucket}[/?][^ "]*) HTTP`, "g");
  return [...text.matchAll(re)].map((m) => m[1]);
}

/** Allows or denies every principal deleting the keys `resource` matches (`cache/dd/*`). */
export async function setDeletePolicy(
  client: S3Client,
  bucket: string,
  effect: "Allow" | "Deny",
  resource: string,
): Promise<void> {
  await client.send(
    new PutBucketPolicyCommand({
      Bucket: bucket,
      Policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{
          Effect: effect,
          Principal: "*",
          Action: ["s3:DeleteObject"],
          Resource: [`arn:aws:s3:::${bucket}/${resource}`],
        }],
      }),
    }),
  );
}

/**
 * A radosgw of a test's own on the cluster of `s` (same users and buckets): one it may stop
 * (SIGSTOP), hang or kill while other tests keep using the shared one. Stopped when disposed.
 */
export interface Gateway extends AsyncDisposable {
  endpoint: string;
  pid: number;
  /** Its log, with one access-log line per request. */
  log: string;
  /** Sends `signal` to the gateway (SIGSTOP: it accepts connections and never answers). */
  signal(signal: "SIGSTOP" | "SIGCONT" | "SIGKILL"): void;
}

/** How a gateway of a test's own serves. */
export interface GatewayOptions {
  /** Serve https with this certificate and key (PEM files): beast's own TLS. */
  tls?: { cert: string; key: string };
  /** More radosgw options (`--rgw-…=…`). */
  args?: string[];
}

/** Starts a gateway of its own on the cluster of `s` (a second or two). */
export async function startGateway(s: S3Server, options: GatewayOptions = {}): Promise<Gateway> {
  const dir = await Deno.makeTempDir({ prefix: "isar-sstate-rgw-" });
  const stop = () => {
    new Deno.Command("bash", { args: [STOP, dir, "5"], stdout: "null", stderr: "null" })
      .outputSync();
    Deno.removeSync(dir, { recursive: true });
  };
  let out: Deno.CommandOutput | undefined;
  for (let attempt = 0; attempt < 5 && !out?.success; attempt++) {
    out = await new Deno.Command("bash", {
      args: [START_RGW, s.state, String(freePorts()), dir],
      env: {
        LAB_TTL: "900",
        RGW_SSL_CERT: options.tls?.cert ?? "",
        RGW_SSL_KEY: options.tls?.key ?? "",
        RGW_ARGS: (options.args ?? []).join(" "),
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
  }
  if (!out?.success) {
    stop();
    throw new Error(`starting a gateway failed:\n${new TextDecoder().decode(out?.stderr)}`);
  }
  const vars = Object.fromEntries(
    new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => l.split("=", 2)),
  );
  const pid = Number(vars.S3_PID);
  let stopped = false;
  const dispose = () => {
    if (stopped) return;
    stopped = true;
    globalThis.removeEventListener("unload", dispose);
    try {
      Deno.kill(pid, "SIGCONT"); // a stopped process does not act on SIGTERM
    } catch {
      // gone already
    }
    stop();
  };
  globalThis.addEventListener("unload", dispose);
  return {
    endpoint: vars.S3_ENDPOINT,
    pid,
    log: `${s.state}/ceph/log/client.rgw.gw${new URL(vars.S3_ENDPOINT).port}.log`,
    signal: (signal) => {
      try {
        Deno.kill(pid, signal);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err; // killed already
      }
    },
    [Symbol.asyncDispose]: () => Promise.resolve(dispose()),
  };
}
