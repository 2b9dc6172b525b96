/** `diff A B`: what changed between two signature files, like `bitbake-diffsigs A B`. */
import { listArtifacts } from "../cache/listing.ts";
import { LocalCache } from "../cache/local_cache.ts";
import { compareSigfiles } from "../siginfo/compare.ts";
import { recursiveCompare, SiginfoIndex } from "../siginfo/lookup.ts";
import type { SigInfo } from "../siginfo/read.ts";
import { Limiter } from "../sync/limiter.ts";
import { type Command, CommandError, DEFAULT_JOBS, localPathOf } from "./command.ts";
import { readSignature } from "./dump.ts";

/** The cache to look dependencies up in, if --cache-dir was given. */
async function dependencyCaches(cacheDir?: string): Promise<LocalCache[]> {
  if (cacheDir === undefined) return [];
  const { path, shown } = localPathOf(cacheDir, "--cache-dir");
  const cache = new LocalCache(path, shown);
  if (!(await cache.exists())) throw new CommandError(`cache directory ${shown} does not exist`);
  return [cache];
}

export const diff: Command = {
  name: "diff",
  positionals: "A B",
  options: ["color", "cache-dir"],
  description:
    "Prints what changed from signature file A (older) to B (newer), one finding per line, in " +
    "the wording of bitbake-diffsigs A B (bitbake 2.8 for JSON files, 1.50 for two pickles); " +
    "nothing when the signatures do not differ. With --cache-dir DIR (an sstate cache), a " +
    "dependency whose hash changed is followed when both of its signatures are in DIR: their " +
    "differences replace that line, indented by four spaces per level, as `analyze` prints " +
    "them. Without --cache-dir nothing is followed, as in bitbake-diffsigs A B. Sets " +
    "are printed sorted, and changed dependencies followed in sorted order, so the output is " +
    "the same on every run. An unreadable or corrupt file is reported in one line (exit 1).",
  examples: [
    "isar-sstate diff old.siginfo new.siginfo",
    "isar-sstate diff --color always --cache-dir build/sstate-cache old.siginfo new.siginfo",
  ],

  async run(ctx) {
    const { source, target } = ctx;
    const { out, options } = ctx;
    if (source === undefined) throw new CommandError("'diff' needs two signature files");
    const a = await readSignature(source);
    const b = await readSignature(target!);
    const caches = await dependencyCaches(options.cacheDir);
    const limiter = new Limiter(DEFAULT_JOBS);
    const indexes = await Promise.all(
      caches.map(async (cache) =>
        new SiginfoIndex(cache, (await listArtifacts(cache)).artifacts, limiter, ctx.abort)
      ),
    );
    const find = (hash: string): Promise<SigInfo> | undefined => {
      for (const index of indexes) {
        const sig = index.get(hash);
        if (sig) return sig;
      }
      return undefined;
    };
    const recurse = indexes.length === 0 ? undefined : recursiveCompare({
      findA: find,
      findB: find,
      missing: () => [],
      color: out.color,
      indent: "    ",
    });
    for (const entry of await compareSigfiles(a, b, { color: out.color, recurse })) {
      out.line(entry);
    }
    return 0;
  },
};
