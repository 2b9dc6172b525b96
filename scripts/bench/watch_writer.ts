/**
 * A simulated bitbake for the watch benchmark:
 * `watch_writer.ts SSTATE_DIR PAIRS DURATION_MS SEED TIMES_JSON` writes PAIRS artifacts (archive
 * and siginfo) over about DURATION_MS, in bursts as parallel tasks finish, exactly as bitbake
 * writes them (archive to NAME.XXXXXXXX, hard-linked to NAME, the temporary name removed; siginfo
 * to sigtask.XXXXXX, renamed), and records in TIMES_JSON when each final name appeared (ms since
 * the epoch).
 */

/** A small seeded generator (mulberry32), so that runs write the same files. */
export function seeded(seed: string): () => number {
  let state = [...seed].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 2654435761), 1) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random lower-case hex string of `length` characters. */
export function hex(random: () => number, length: number): string {
  let out = "";
  while (out.length < length) {
    out += Math.floor(random() * 0x100000000).toString(16).padStart(8, "0");
  }
  return out.slice(0, length);
}

/** The relative path of an Isar-named archive with this hash. */
export function archiveName(hash: string, pn: string): string {
  return `${hash.slice(0, 2)}/${hash.slice(2, 4)}/sstate:${pn}:arm64-isar:1.0:r0:arm64:10:` +
    `${hash}_dpkg_build.tar.zst`;
}

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Archive sizes: log-uniform between 4 KiB and 512 KiB. */
function archiveSize(random: () => number): number {
  return Math.round(4096 * Math.exp(random() * Math.log(128)));
}

if (import.meta.main) {
  const [root, pairsArg, durationArg, seed, timesFile] = Deno.args;
  const pairs = Number(pairsArg);
  const duration = Number(durationArg);
  const random = seeded(seed);
  const burst = 20;
  const bursts = Math.ceil(pairs / burst);
  const pause = duration / bursts;
  const data = new Uint8Array(512 * 1024).map((_, i) => (i * 31) & 0xff);
  const times: Record<string, number> = {};
  const start = now();
  for (let b = 0; b < bursts; b++) {
    for (let i = b * burst; i < Math.min(pairs, (b + 1) * burst); i++) {
      const archive = archiveName(hex(random, 64), `bench-${i}`);
      const final = `${root}/${archive}`;
      Deno.mkdirSync(final.slice(0, final.lastIndexOf("/")), { recursive: true });
      const temp = `${final}.${hex(random, 8)}`;
      Deno.writeFileSync(temp, data.subarray(0, archiveSize(random)));
      Deno.linkSync(temp, final);
      times[archive] = now();
      Deno.removeSync(temp);
      const sigTemp = `${final.slice(0, final.lastIndexOf("/"))}/sigtask.${hex(random, 6)}`;
      Deno.writeFileSync(sigTemp, data.subarray(0, 3000));
      Deno.renameSync(sigTemp, `${final}.siginfo`);
      times[`${archive}.siginfo`] = now();
    }
    await sleep(Math.max(0, start + (b + 1) * pause - now()));
  }
  Deno.writeTextFileSync(timesFile, JSON.stringify(times));
}
