/**
 * WebDAV benchmark: `isar-sstate upload SRC http://…` of the generated 5,000-file cache to a real
 * Apache mod_dav on 127.0.0.1, against `rclone copy --transfers 8` (webdav remote) and eight
 * parallel `curl -T` processes with keep-alive (the floor: one MKCOL per collection and one PUT
 * per file, nothing else); plus the listing (`info`) and the no-op re-upload.
 */
import { join } from "node:path";
import { startApache } from "../../tests/servers/apache.ts";
import { makeExampleCache } from "../make-example-cache.ts";
import { type BenchContext, expectTally, tally, warm, wipe } from "./context.ts";
import { type BenchSection, firstLine, type Target } from "./results.ts";
import {
  type BenchCase,
  fmtRatio,
  fmtSeconds,
  median,
  ratio,
  run,
  type RunResult,
  timeAlternating,
} from "./timing.ts";

/** Archives besides the package recipes' dpkg_build (as in the file:// upload benchmark). */
const BASE_ARCHIVES = 10;
const ISAR = "isar-sstate upload";
const ISAR_NOOP = "isar-sstate upload, no-op re-run";
const ISAR_LIST = "isar-sstate info (one listing)";
const CURL = "8 × curl -T, keep-alive (floor)";
const RCLONE = "rclone copy --transfers 8";

/** A bash script for the curl floor: MKCOL each level of collections, then PUT every file. */
const CURL_SCRIPT = `set -euo pipefail
args=$1
curl -sf -o /dev/null -X MKCOL "$2"
xargs -a "$args/level1" -d '\\n' -P8 -n 100 curl -sf -X MKCOL >/dev/null
xargs -a "$args/level2" -d '\\n' -P8 -n 100 curl -sf -X MKCOL >/dev/null
xargs -a "$args/files" -d '\\n' -P8 -n 600 curl -sf -H 'If-None-Match: *' >/dev/null`;

/** Relative paths of the files below `dir`. */
async function files(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(dir, rel))) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await files(dir, path));
    else out.push(path);
  }
  return out;
}

/** Writes curl's argument lists for uploading `src` to `url` into `dir`. */
async function curlArgs(src: string, url: string, dir: string): Promise<void> {
  const paths = await files(src);
  const enc = (p: string) => p.split("/").map(encodeURIComponent).join("/");
  const dirs = new Set(paths.map((p) => p.split("/").slice(0, -1).join("/")));
  const level = (n: number) =>
    [...new Set([...dirs].map((d) => d.split("/").slice(0, n).join("/")))]
      .filter((d) => d.split("/").length === n).map((d) => `${url}${enc(d)}/`);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "level1"), level(1).join("\n") + "\n");
  await Deno.writeTextFile(join(dir, "level2"), level(2).join("\n") + "\n");
  await Deno.writeTextFile(
    join(dir, "files"),
    paths.map((p) => `-T\n${join(src, p)}\n${url}${enc(p)}`).join("\n") + "\n",
  );
}

function expectDone(result: RunResult, uploaded: number): void {
  if (!new RegExp(`INFO: done: ${uploaded} uploaded .* 0 failed`).test(result.stdout)) {
    throw new Error(`isar-sstate upload did not report ${uploaded} uploads:\n${result.stdout}`);
  }
}

/** Runs the WebDAV benchmark and returns its report section. */
export async function benchWebdav(ctx: BenchContext): Promise<BenchSection> {
  const archives = ctx.quick ? 250 : 2500;
  const sizes = ctx.quick ? { min: 4096, max: 65536 } : { min: 4096, max: 1048576 };
  const src = join(ctx.work, "webdav-src");
  ctx.log(`webdav: generating ${archives} archives + ${archives} siginfo in ${src}`);
  const cache = await makeExampleCache(src, {
    recipes: archives - BASE_ARCHIVES,
    seed: "bench-upload",
    siginfo: "sstate",
    archiveSize: sizes,
  });
  const expected = await tally(src);
  await using apache = await startApache({ ttlSeconds: 3 * 3600 });
  ctx.log(`webdav: Apache at ${apache.url} serving ${apache.dir}`);

  /** Each tool's target collection, removed before every run (untimed), so each run starts empty. */
  const prepare = async (name: string) => {
    await wipe(join(apache.dir, name));
    await warm(src);
  };
  const url = (name: string) => `${apache.url}${name}/`;
  const onDisk = (name: string) => join(apache.dir, name);

  // Requests per uploaded file, from Apache's access log of the first isar-sstate upload.
  let logFrom = 0;
  let perFile = "";
  const isarStep = (label: string, noop: boolean) => ({
    label,
    cmd: [...ctx.tool, "upload", src, url("isar")],
    opts: { cwd: ctx.repo },
    verify: async (r: RunResult) => {
      expectDone(r, noop ? 0 : expected.files);
      await expectTally(onDisk("isar"), expected, label);
      if (noop || perFile) return;
      const lines = (await Deno.readTextFile(apache.accessLog)).split("\n").slice(logFrom);
      const n = (method: string) => lines.filter((l) => l.includes(`"${method} `)).length;
      perFile = `${n("PUT")} PUTs, ${n("MKCOL")} MKCOLs and ${n("PROPFIND")} PROPFINDs for ` +
        `${expected.files} files in ${await collections(onDisk("isar"))} new collections`;
    },
  });
  const cases: BenchCase[] = [
    {
      name: "isar-sstate",
      setup: async () => {
        await prepare("isar");
        logFrom = (await Deno.readTextFile(apache.accessLog)).split("\n").length - 1;
      },
      steps: [
        isarStep(ISAR, false),
        isarStep(ISAR_NOOP, true),
        {
          label: ISAR_LIST,
          cmd: [...ctx.tool, "info", "--json", url("isar")],
          opts: { cwd: ctx.repo },
          verify: (r: RunResult) => {
            const files = JSON.parse(r.stdout).files;
            if (files !== expected.files) throw new Error(`info counted ${files} files`);
          },
        },
      ],
    },
    {
      name: "curl",
      setup: async () => {
        await prepare("curl");
        await curlArgs(src, url("curl"), join(ctx.work, "curl-args"));
      },
      steps: [{
        label: CURL,
        cmd: ["bash", "-c", CURL_SCRIPT, "curl-floor", join(ctx.work, "curl-args"), url("curl")],
        verify: () => expectTally(onDisk("curl"), expected, CURL),
      }],
    },
  ];
  const versions: Record<string, string> = {
    apache: (await firstLine(["/usr/sbin/apache2", "-v"]))?.replace(/^Server version: /, "") ??
      "unknown",
    curl: (await firstLine(["curl", "--version"]))?.split(" ").slice(0, 2).join(" ") ?? "unknown",
  };
  const notes: string[] = [];

  ctx.log(`webdav: ${ctx.runs} runs of ${cases.map((c) => c.name).join(", ")}`);
  const t = await timeAlternating(cases, ctx.runs, ctx.log);

  // rclone's WebDAV backend paces itself at about 30 files/s: one run (minutes) is enough.
  const rclone = await firstLine(["rclone", "version"]);
  if (rclone) {
    versions.rclone = rclone;
    const env = {
      RCLONE_CONFIG_DAV_TYPE: "webdav",
      RCLONE_CONFIG_DAV_URL: apache.url,
      RCLONE_CONFIG_DAV_VENDOR: "other",
    };
    const rcloneCase: BenchCase = {
      name: "rclone",
      setup: () => prepare("rclone"),
      steps: [{
        label: RCLONE,
        cmd: ["rclone", "copy", "--transfers", "8", src, "dav:rclone"],
        opts: { env },
        verify: () => expectTally(onDisk("rclone"), expected, RCLONE),
      }],
    };
    ctx.log("webdav: one run of rclone");
    const r = await timeAlternating([rcloneCase], 1, ctx.log, 0);
    t.set(RCLONE, r.get(RCLONE)!);
    notes.push(
      "rclone ran once, after the alternating rounds: its WebDAV backend paces itself at about " +
        "30 files/s (a fixed 10 ms pacer and three requests per file), so one run takes minutes " +
        "and its spread does not matter.",
    );
  } else notes.push("rclone is not installed: its row is missing.");

  const rows = [...t.entries()].map(([label, ms]) => [
    label,
    fmtSeconds(median(ms)),
    ms.map((x) => (x / 1000).toFixed(3)).join(", "),
    fmtRatio(ratio(t, label, CURL)),
  ]);
  const targets: Target[] = [{
    name: `${ISAR} ≤ 1.5× ${CURL}`,
    measured: fmtRatio(ratio(t, ISAR, CURL)),
    limit: "≤ 1.50×",
    met: ratio(t, ISAR, CURL) <= 1.5,
  }];
  if (t.has(RCLONE)) {
    targets.push({
      name: `${ISAR} much faster than ${RCLONE}`,
      measured: fmtRatio(ratio(t, ISAR, RCLONE)),
      limit: "≤ 0.20×",
      met: ratio(t, ISAR, RCLONE) <= 0.2,
    });
  }
  notes.push(`Requests of the first upload (Apache's access log): ${perFile}.`);
  const mib = (expected.bytes / 1048576).toFixed(1);
  await run(["rm", "-rf", join(ctx.work, "curl-args")]);
  return {
    title: "Upload to WebDAV (Apache mod_dav on 127.0.0.1)",
    intro: [
      `Source: the generated Isar cache of the file:// benchmark (${cache.archives} archives + ` +
      `${cache.siginfos} siginfo = ${expected.files} files, ${mib} MiB; archive sizes ` +
      `log-uniform ${sizes.min / 1024} KiB .. ${sizes.max / 1024} KiB). Target: Apache 2.4 ` +
      "with mod_dav_fs (mpm_event, 128 worker threads, `DavDepthInfinity Off` as by default) " +
      "started for the benchmark on 127.0.0.1, serving a directory on the same disk; client " +
      "and server share the two cores.",
      `isar-sstate and the curl floor ran ${ctx.runs} times after one untimed warm-up round, ` +
      "alternating. Every upload goes to a fresh collection (the previous one removed and " +
      "`sync`ed beforehand, untimed); the no-op re-run and the listing use the collection the " +
      "upload before filled. The curl floor does only what an upload must: an MKCOL per " +
      "collection (two levels, `xargs -P8`) and one conditional PUT per file, eight curl " +
      "processes keeping their connections alive over 200 files each; its argument lists are " +
      "written before the timer starts.",
    ],
    tables: [{ headers: ["command", "median", "runs (s)", "vs curl floor"], rows }],
    targets,
    notes,
    versions,
  };
}

/** Number of collections below `dir` on the server's disk. */
async function collections(dir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) n += 1 + await collections(join(dir, e.name));
  }
  return n;
}
