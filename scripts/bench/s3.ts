/**
 * S3 benchmark against Ceph radosgw on 127.0.0.1: upload of the example cache next to
 * `rclone copy --transfers 8`, a listing of 20,000 keys next to `rclone lsf -R`, a clean of
 * 10,000 artifacts, and the requests radosgw logged per uploaded file.
 */
import { join, resolve } from "node:path";
import { CreateBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { S3Backend, type S3BackendSettings } from "../../src/backends/s3/s3.ts";
import { makeExampleCache } from "../make-example-cache.ts";
import { type BenchContext, tally, warm } from "./context.ts";
import { type BenchSection, firstLine, type Target } from "./results.ts";
import {
  type BenchCase,
  fmtRatio,
  fmtSeconds,
  median,
  ratio,
  run,
  timeAlternating,
} from "./timing.ts";

const ISAR = "isar-sstate upload --jobs 8";
const ISAR_DEFAULT = "isar-sstate upload (default jobs)";
const RCLONE = "rclone copy --transfers 8";
const LIST = "isar-sstate info (list 20,000 keys)";
const RCLONE_LIST = "rclone lsf -R (list 20,000 keys)";
const CLEAN = "isar-sstate clean (10,000 artifacts)";

export interface Server {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  log: string;
  stop?: () => Promise<void>;
}

/** The radosgw named by S3_* variables, or a new one in the work directory. */
export async function startServer(ctx: BenchContext): Promise<Server> {
  const env = Deno.env.toObject();
  if (env.S3_ENDPOINT) {
    return {
      endpoint: env.S3_ENDPOINT,
      accessKeyId: env.S3_ACCESS_KEY_ID,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY,
      log: `${env.S3_STATE}/ceph/log/client.rgw.test.log`,
    };
  }
  const dir = join(ctx.work, "radosgw");
  const script = resolve(ctx.repo, "scripts/servers/start-s3.sh");
  ctx.log("s3: starting radosgw (about 20 s)");
  const port = 20000 + Math.floor(Math.random() * 20000);
  const out = await run(["bash", script, dir, String(port)], { env: { LAB_TTL: "3600" } });
  const vars = Object.fromEntries(
    out.stdout.trim().split("\n").map((
      l,
    ) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  return {
    endpoint: vars.S3_ENDPOINT,
    accessKeyId: vars.S3_ACCESS_KEY_ID,
    secretAccessKey: vars.S3_SECRET_ACCESS_KEY,
    log: `${dir}/ceph/log/client.rgw.test.log`,
    stop: async () =>
      void await run(["bash", resolve(ctx.repo, "scripts/servers/stop-server.sh"), dir]),
  };
}

/** Stores `count` empty keys below `prefix`, spread over hash directories like a cache. */
async function fill(client: S3Client, bucket: string, prefix: string, count: number) {
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < count) {
      const i = next++;
      const h = (Math.imul(i + 1, 2654435761) >>> 0).toString(16).padStart(8, "0");
      const name = `sstate:pkg-${i}:arm64-isar:1.0:r0:arm64:10:${h}${
        "0".repeat(56)
      }_dpkg_build.tar.zst`;
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${prefix}/${h.slice(0, 2)}/${h.slice(2, 4)}/${name}`,
          Body: new Uint8Array(0),
        }),
      );
    }
  }));
}

/** Requests radosgw logged for `bucket/prefix/` since `offset` bytes into its log. */
export async function loggedRequests(log: string, offset: number, bucket: string, prefix: string) {
  const text = (await Deno.readTextFile(log)).slice(offset);
  const lines = [...text.matchAll(/"([A-Z]+) (\/[^ "]*) HTTP/g)];
  const mine = lines.filter(([, , path]) =>
    path.startsWith(`/${bucket}/${prefix}/`) ||
    (path.startsWith(`/${bucket}?`) || path.startsWith(`/${bucket}/?`)) &&
      decodeURIComponent(path).includes(`prefix=${prefix}/`)
  );
  return { puts: mine.filter(([, m]) => m === "PUT").length, total: mine.length };
}

/** Files and bytes below `url`, as listed by the S3 backend. */
async function bucketTally(url: string, settings: S3BackendSettings) {
  const backend = new S3Backend(url, {}, settings);
  let files = 0, bytes = 0;
  try {
    for await (const batch of backend.list()) {
      files += batch.length;
      bytes += batch.reduce((sum, e) => sum + e.size, 0);
    }
  } finally {
    await backend.close();
  }
  return { files, bytes };
}

/** Throws unless `what` counted `got` files where `want` were expected. */
function expectFiles(got: number | undefined, want: number, what: string): void {
  if (got !== want) throw new Error(`${what}: ${got ?? "no"} files, expected ${want}`);
}

/** The file count of `isar-sstate info`'s output. */
function infoFiles(stdout: string): number | undefined {
  const m = /^INFO: found (\d+) files/m.exec(stdout);
  return m ? Number(m[1]) : undefined;
}

/** The files (not directories) that `rclone lsf -R` printed. */
function lsfFiles(stdout: string): number {
  return stdout.split("\n").filter((l) => l !== "" && !l.endsWith("/")).length;
}

/** Runs the S3 benchmark and returns its report section. */
export async function benchS3(ctx: BenchContext): Promise<BenchSection> {
  const rcloneVersion = await firstLine(["rclone", "version"]);
  const server = await startServer(ctx);
  try {
    return await measure(ctx, server, rcloneVersion);
  } finally {
    await server.stop?.();
  }
}

async function measure(
  ctx: BenchContext,
  server: Server,
  rcloneVersion: string | null,
): Promise<BenchSection> {
  const archives = ctx.quick ? 250 : 2500;
  const listKeys = ctx.quick ? 2000 : 20000;
  const cleanKeys = ctx.quick ? 1000 : 10000;
  const sizes = ctx.quick ? { min: 4096, max: 65536 } : { min: 4096, max: 1048576 };
  const src = join(ctx.work, "s3-src");
  ctx.log(`s3: generating ${archives} archives + ${archives} siginfo in ${src}`);
  await makeExampleCache(src, {
    recipes: archives - 10,
    seed: "bench-s3",
    siginfo: "sstate",
    archiveSize: sizes,
  });
  const expected = await tally(src);
  const bucket = `bench-${Date.now().toString(36)}`;
  const settings: S3BackendSettings = {
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    env: { AWS_ENDPOINT_URL: server.endpoint },
  };
  const admin = new S3Backend(`s3://${bucket}`, {}, settings);
  const sdk = admin.client;
  await sdk.send(new CreateBucketCommand({ Bucket: bucket }));
  const toolEnv = {
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_ENDPOINT_URL: server.endpoint,
    AWS_EC2_METADATA_DISABLED: "true",
  };
  const rcloneEnv: Record<string, string> = {
    RCLONE_CONFIG_X_TYPE: "s3",
    RCLONE_CONFIG_X_PROVIDER: "Ceph",
    RCLONE_CONFIG_X_ENDPOINT: server.endpoint,
    RCLONE_CONFIG_X_ACCESS_KEY_ID: server.accessKeyId,
    RCLONE_CONFIG_X_SECRET_ACCESS_KEY: server.secretAccessKey,
    // rclone's SDK cannot use the machine's AWS_CA_BUNDLE on a plain-http endpoint.
    AWS_CA_BUNDLE: "",
  };
  /** Throws unless `prefix` holds `want`'s files and bytes (untimed). */
  const expectOnBucket = async (prefix: string, want: typeof expected, who: string) => {
    const got = await bucketTally(`s3://${bucket}/${prefix}`, settings);
    if (got.files !== want.files || got.bytes !== want.bytes) {
      throw new Error(
        `${who}: s3://${bucket}/${prefix} holds ${got.files} files (${got.bytes} bytes), ` +
          `expected ${want.files} (${want.bytes} bytes)`,
      );
    }
  };
  /** Empties a prefix (untimed). */
  const wipe = async (prefix: string) => {
    const backend = new S3Backend(`s3://${bucket}/${prefix}`, {}, settings);
    const paths: string[] = [];
    for await (const batch of backend.list()) paths.push(...batch.map((e) => e.path));
    for (let i = 0; i < paths.length; i += 1000) await backend.deleteMany(paths.slice(i, i + 1000));
    await backend.close();
  };
  let round = 0;
  const fresh = (tag: string) => `${tag}-${++round}`;
  const prefixes: Record<string, string> = {};
  const uploadCase = (
    name: string,
    label: string,
    cmd: (prefix: string) => string[],
    env: Record<string, string>,
  ) => ({
    name,
    setup: async () => {
      if (prefixes[name]) await wipe(prefixes[name]);
      prefixes[name] = fresh(name);
      await warm(src);
    },
    steps: [{
      label,
      cmd: () => cmd(prefixes[name]),
      opts: { env },
      verify: () => expectOnBucket(prefixes[name], expected, label),
    }],
  });
  const cases: BenchCase[] = [
    uploadCase(
      "isar",
      ISAR,
      (p) => [...ctx.tool, "upload", "--jobs", "8", src, `s3://${bucket}/${p}`],
      toolEnv,
    ),
    uploadCase(
      "isar-default",
      ISAR_DEFAULT,
      (p) => [...ctx.tool, "upload", src, `s3://${bucket}/${p}`],
      toolEnv,
    ),
  ];
  if (rcloneVersion) {
    cases.push(
      uploadCase(
        "rclone",
        RCLONE,
        (p) => ["rclone", "copy", "--transfers", "8", src, `x:${bucket}/${p}`],
        rcloneEnv,
      ),
    );
  }
  ctx.log(`s3: ${ctx.runs} upload runs of ${cases.map((c) => c.name).join(", ")}`);
  const up = await timeAlternating(cases, ctx.runs, ctx.log);

  // Requests per uploaded file, from radosgw's log, for one more isar-sstate upload.
  const offset = (await Deno.stat(server.log)).size;
  const countPrefix = fresh("count");
  await run([...ctx.tool, "upload", src, `s3://${bucket}/${countPrefix}`], { env: toolEnv });
  const counted = await loggedRequests(server.log, offset, bucket, countPrefix);
  await expectOnBucket(countPrefix, expected, "counted upload");
  await wipe(countPrefix);

  ctx.log(`s3: storing ${listKeys} keys to list and ${cleanKeys} to clean`);
  await fill(sdk, bucket, "list", listKeys);
  const listCases: BenchCase[] = [{
    name: "list",
    steps: [{
      label: LIST,
      cmd: [...ctx.tool, "info", `s3://${bucket}/list`],
      opts: { env: toolEnv },
      verify: (r) => expectFiles(infoFiles(r.stdout), listKeys, LIST),
    }],
  }];
  if (rcloneVersion) {
    listCases.push({
      name: "rclone-list",
      steps: [{
        label: RCLONE_LIST,
        cmd: ["rclone", "lsf", "-R", `x:${bucket}/list`],
        opts: { env: rcloneEnv },
        verify: (r) => expectFiles(lsfFiles(r.stdout), listKeys, RCLONE_LIST),
      }],
    });
  }
  const lists = await timeAlternating(listCases, ctx.runs, ctx.log);
  // Delete requests of the timed cleans: logged between each clean's setup and its end.
  // DeleteObjects takes 1,000 keys: the fewest requests a clean can make, and one more at most.
  const minDeletes = Math.ceil(cleanKeys / 1000);
  let cleanStart = 0;
  const perClean: number[] = [];
  const cleanCases: BenchCase[] = [{
    name: "clean",
    setup: async () => {
      await fill(sdk, bucket, "clean", cleanKeys);
      cleanStart = (await Deno.stat(server.log)).size;
    },
    steps: [{
      label: CLEAN,
      cmd: [...ctx.tool, "clean", "--max-age", "0s", `s3://${bucket}/clean`],
      opts: { env: toolEnv },
      verify: async (r) => {
        const logged = (await Deno.readTextFile(server.log)).slice(cleanStart);
        perClean.push(
          [...logged.matchAll(new RegExp(`"(POST|DELETE) /${bucket}[/?]`, "g"))].length,
        );
        if (!new RegExp(`^INFO: done: ${cleanKeys} deleted, 0 failed`, "m").test(r.stdout)) {
          throw new Error(`${CLEAN}: not ${cleanKeys} deleted:\n${r.stdout}`);
        }
        await expectOnBucket("clean", { files: 0, bytes: 0 }, CLEAN);
      },
    }],
  }];
  const cleans = await timeAlternating(cleanCases, ctx.runs, ctx.log);
  // The first clean is the untimed warm-up.
  const timedCleans = perClean.slice(1);
  const deleteRequests = timedCleans.reduce((a, b) => a + b, 0);
  for (const p of Object.values(prefixes)) await wipe(p);
  await wipe("list");
  await admin.close();

  const times = new Map([...up, ...lists, ...cleans]);
  const rows = [...times.entries()].map(([label, ms]) => [
    label,
    fmtSeconds(median(ms)),
    ms.map((x) => (x / 1000).toFixed(3)).join(", "),
    up.has(RCLONE) && up.has(label) ? fmtRatio(ratio(times, label, RCLONE)) : "",
  ]);
  const targets: Target[] = [];
  if (up.has(RCLONE)) {
    targets.push({
      name: `${ISAR} faster than ${RCLONE}`,
      measured: fmtRatio(ratio(times, ISAR, RCLONE)),
      limit: "< 1.00×",
      met: ratio(times, ISAR, RCLONE) < 1,
    });
  }
  targets.push({
    name: "requests per uploaded file (PUT, plus listings)",
    measured: `${(counted.puts / expected.files).toFixed(3)} PUT, ${
      (counted.total / expected.files).toFixed(3)
    } all`,
    limit: "1 PUT",
    met: counted.puts === expected.files,
  });
  targets.push({
    name: `DeleteObjects requests per clean of ${cleanKeys}`,
    measured: (deleteRequests / ctx.runs).toFixed(1),
    limit: `${minDeletes} .. ${minDeletes + 1} per clean`,
    met: timedCleans.length === ctx.runs &&
      timedCleans.every((n) => n >= minDeletes && n <= minDeletes + 1),
  });
  const mib = (expected.bytes / 1048576).toFixed(1);
  return {
    title: "S3 (Ceph radosgw on 127.0.0.1)",
    intro: [
      `Upload source: a generated Isar cache (${expected.files} files, ${mib} MiB, archive sizes ` +
      `log-uniform ${sizes.min / 1024} KiB .. ${sizes.max / 1024} KiB), read once before every ` +
      "run. Every upload goes to a new prefix of one bucket; the previous run's prefix is emptied " +
      "outside the timed window. The listing covers " +
      `${listKeys} keys in hash directories; the clean deletes ${cleanKeys} artifacts (stored ` +
      "again, untimed, before every run). Runs alternate between tools after one untimed " +
      "warm-up round; times are wall-clock medians including process start-up. radosgw, its " +
      "OSD and the clients share the machine's cores.",
    ],
    tables: [{ headers: ["command", "median", "runs (s)", `vs ${RCLONE}`], rows }],
    targets,
    notes: [
      `One more isar-sstate upload of the ${expected.files} files made ${counted.puts} PUT ` +
      `requests and ${counted.total} requests in all (the rest are listings), as logged by radosgw.`,
      `The ${ctx.runs} cleans of ${cleanKeys} artifacts made ${deleteRequests} delete requests in ` +
      "all (DeleteObjects, 1,000 keys each).",
      "rclone ran with provider Ceph, default options (it HEADs every object after its upload).",
    ],
    versions: rcloneVersion ? { rclone: rcloneVersion } : {},
  };
}
