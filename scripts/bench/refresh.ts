/**
 * Refresh benchmark: in a cache of about 36k files already on the target, a build used 5,000 of
 * them (newer local modification times) and `upload` marks exactly those used, on file://,
 * WebDAV (Apache mod_dav) and S3 (radosgw), each next to a no-op upload with refreshes off
 * (`--refresh-after 0`, what an upload did before refreshes existed) and one with refreshes on
 * that finds nothing used. Time (median) and the requests each run sent.
 */
import { join } from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { S3Backend } from "../../src/backends/s3/s3.ts";
import { startApache } from "../../tests/servers/apache.ts";
import { makeExampleCache } from "../make-example-cache.ts";
import { type BenchContext, tally } from "./context.ts";
import type { BenchSection } from "./results.ts";
import { loggedRequests, type Server, startServer } from "./s3.ts";
import { fmtSeconds, median, run, type RunResult } from "./timing.ts";

const NOOP_OFF = "no-op upload, --refresh-after 0";
const NOOP_ON = "no-op upload, refreshes on (nothing used)";
const REFRESH = "upload refreshing the used artifacts";

/** How one backend is reached and how its requests are counted. */
interface Side {
  name: string;
  url: string;
  env: Record<string, string>;
  /** Requests the server logged while `fn` ran, by method ("" where none are logged). */
  requests(fn: () => Promise<RunResult>): Promise<[RunResult, string]>;
}

/** Every file below `dir`, relative, sorted. */
async function filesOf(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(dir, rel))) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await filesOf(dir, path));
    else out.push(path);
  }
  return out.sort();
}

/** `N METHOD, …` of access-log-style lines `"METHOD path HTTP…"`. */
function byMethod(text: string): string {
  const counts = new Map<string, number>();
  for (const m of text.matchAll(/"([A-Z]+) \/[^ "]* HTTP/g)) {
    counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
  }
  return [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([m, n]) => `${n} ${m}`)
    .join(", ");
}

/** The number in the `N refreshed` of an upload's summary. */
function refreshed(r: RunResult): number {
  const m = /, (\d+) refreshed,/.exec(r.stdout);
  if (!m) throw new Error(`no summary line in:\n${r.stdout}`);
  return Number(m[1]);
}

/** Runs the refresh benchmark and returns its report section. */
export async function benchRefresh(ctx: BenchContext): Promise<BenchSection> {
  const recipes = ctx.quick ? 50 : 5000;
  const used = ctx.quick ? 50 : 5000;
  const src = join(ctx.work, "refresh-src");
  ctx.log(`refresh: generating a cache of ${recipes} recipes in ${src}`);
  await makeExampleCache(src, { recipes, seed: "bench-refresh" });
  const size = await tally(src);
  const files = await filesOf(src);
  const step = Math.floor(files.length / used);
  const usedFiles = files.filter((_, i) => i % step === 0).slice(0, used);

  await using apache = await startApache({ ttlSeconds: 3 * 3600 });
  const s3 = await startServer(ctx);
  try {
    const bucket = `refresh-${Date.now().toString(36)}`;
    const admin = new S3Backend(`s3://${bucket}`, {}, {
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      env: { AWS_ENDPOINT_URL: s3.endpoint },
    });
    await admin.client.send(new CreateBucketCommand({ Bucket: bucket }));
    await admin.close();
    const sides = [
      fileSide(ctx),
      webdavSide(apache.url, apache.accessLog),
      s3Side(s3, bucket),
    ];
    const rows: string[][] = [];
    for (const side of sides) rows.push(...await measure(ctx, side, src, usedFiles));
    return {
      title: "Refresh of used artifacts (upload --refresh-after)",
      intro: [
        `Data: an example cache of ${size.files} files (${(size.bytes / 2 ** 20).toFixed(0)} ` +
        `MiB), all on the target already; a build used ${usedFiles.length} of them (their ` +
        "local modification time is newer than their last use on the target by more than " +
        "the refresh window). Each upload runs " + `${ctx.runs} times (median); before each ` +
        "refreshing run the used files are touched again, later than the last refresh. " +
        "Targets on 127.0.0.1: a directory on the same disk, Apache 2.4 mod_dav (its default " +
        "`DavDepthInfinity Off`: listings walk the collections), Ceph radosgw. Requests are " +
        "those the server logged for one run (file://: system calls, none logged).",
      ],
      tables: [{
        headers: ["target", "run", "median", "runs (s)", "refreshed", "requests"],
        rows,
      }],
      notes: [
        "file:// sets the modification time (utime); WebDAV sends one PROPPATCH per file (the " +
        "dead property {urn:isar-sstate}lastused); S3 sends a HeadObject (content type and " +
        "metadata to keep) and a CopyObject of the object onto itself per file. No file data " +
        "is sent.",
        "With refreshes on, a listing asks for the last uses: file:// stats every target " +
        "file, WebDAV asks for one more property; S3 listings carry LastModified anyway.",
      ],
    };
  } finally {
    await s3.stop?.();
  }
}

function fileSide(ctx: BenchContext): Side {
  return {
    name: "file://",
    url: `file://${join(ctx.work, "refresh-file")}`,
    env: {},
    requests: async (fn) => [await fn(), ""],
  };
}

function webdavSide(base: string, accessLog: string): Side {
  return {
    name: "WebDAV",
    url: `${base}refresh/`,
    env: {},
    async requests(fn) {
      const from = (await Deno.stat(accessLog)).size;
      const r = await fn();
      await new Promise((res) => setTimeout(res, 500)); // Apache writes its log behind
      return [r, byMethod((await Deno.readTextFile(accessLog)).slice(from))];
    },
  };
}

function s3Side(server: Server, bucket: string): Side {
  return {
    name: "S3",
    url: `s3://${bucket}/sstate`,
    env: {
      AWS_ACCESS_KEY_ID: server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
      AWS_ENDPOINT_URL: server.endpoint,
      AWS_EC2_METADATA_DISABLED: "true",
    },
    async requests(fn) {
      const from = (await Deno.stat(server.log)).size;
      const r = await fn();
      const counted = await loggedRequests(server.log, from, bucket, "sstate");
      await new Promise((res) => setTimeout(res, 500));
      const text = (await Deno.readTextFile(server.log)).slice(from);
      return [r, `${byMethod(text)} (${counted.total} in all)`];
    },
  };
}

/** The three kinds of run on one backend: rows of the table. */
async function measure(
  ctx: BenchContext,
  side: Side,
  src: string,
  usedFiles: string[],
): Promise<string[][]> {
  ctx.log(`refresh: uploading the cache to ${side.name} (untimed)`);
  const upload = (...extra: string[]) => () =>
    run([...ctx.tool, "upload", ...extra, src, side.url], { env: side.env, cwd: ctx.repo });
  await upload("--refresh-after", "0")();
  const rows: string[][] = [];
  let shift = 0;
  const kinds: [string, string[], boolean][] = [
    [NOOP_OFF, ["--refresh-after", "0"], false],
    [NOOP_ON, [], false],
    [REFRESH, [], true],
  ];
  for (const [label, extra, touch] of kinds) {
    const times: number[] = [];
    let requests = "";
    let count = 0;
    for (let i = 0; i < ctx.runs; i++) {
      if (touch) {
        // Later than the last refresh by more than the window (1d): used again.
        const when = new Date(Date.now() + (2 + ++shift) * 86_400_000);
        for (const f of usedFiles) await Deno.utime(join(src, f), when, when);
      }
      const [r, logged] = await side.requests(upload(...extra));
      times.push(r.ms);
      count = refreshed(r);
      if (count !== (touch ? usedFiles.length : 0)) {
        throw new Error(`${side.name} ${label}: ${count} refreshed\n${r.stdout}`);
      }
      if (i === 0) requests = logged || "none (system calls)";
    }
    // Back to the past, so that the next side starts from an unused cache.
    if (touch) {
      const past = new Date(Date.now() - 86_400_000);
      for (const f of usedFiles) await Deno.utime(join(src, f), past, past);
    }
    ctx.log(`refresh: ${side.name} ${label}: ${fmtSeconds(median(times))}`);
    rows.push([
      side.name,
      label,
      fmtSeconds(median(times)),
      times.map((t) => (t / 1000).toFixed(3)).join(", "),
      String(count),
      requests,
    ]);
  }
  return rows;
}
