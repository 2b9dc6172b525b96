/**
 * The large generated caches of the memory benchmark, made once and kept in bench/trees/ (the
 * million-file one takes minutes to write): each a cache, one archive in ten (and its siginfo)
 * aged by 2,000 days, so that `clean --max-age 1000d` has a tenth to delete, and a target that
 * holds the same files (hard links), so that an upload into it has nothing to do.
 */
import { join } from "node:path";
import { makeExampleCache } from "../make-example-cache.ts";
import type { BenchContext } from "./context.ts";
import { run } from "./timing.ts";

/** A kept tree: the cache, and a target holding the same files. */
export interface Tree {
  recipes: number;
  cache: string;
  target: string;
  files: number;
  bytes: number;
}

/** Days the aged tenth of the archives is old. */
export const AGED_DAYS = 2000;

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Files and bytes under `dir` (what `find` says, quickly). */
async function count(dir: string): Promise<{ files: number; bytes: number }> {
  const out = await run(["find", dir, "-type", "f", "-printf", "%s\n"]);
  const sizes = out.stdout.trim().split("\n").filter((l) => l !== "");
  return { files: sizes.length, bytes: sizes.reduce((sum, s) => sum + Number(s), 0) };
}

/**
 * The tree of `recipes` recipes in bench/trees/r`recipes`, made where missing (each step is
 * marked done by a file, so that an interrupted one is done again).
 */
export async function ensureTree(ctx: BenchContext, recipes: number): Promise<Tree> {
  const dir = join(ctx.repo, "bench", "trees", `r${recipes}`);
  const cache = join(dir, "cache");
  const target = join(dir, "target");
  if (!await exists(join(dir, ".complete"))) {
    ctx.log(`scale: generating ${recipes} recipes into ${cache} (once; minutes for 140,000)`);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    const started = performance.now();
    await makeExampleCache(cache, { recipes, seed: "bench-scale" });
    ctx.log(`scale: generated in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    await Deno.writeTextFile(join(dir, ".complete"), "");
  }
  if (!await exists(join(dir, ".aged"))) {
    const archives = (await run(["find", cache, "-type", "f", "-name", "*.tar.zst"])).stdout
      .trim().split("\n").sort();
    const old = new Date(Date.now() - AGED_DAYS * 86_400_000);
    for (let i = 0; i < archives.length; i += 10) {
      for (const path of [archives[i], `${archives[i]}.siginfo`]) {
        await Deno.utime(path, old, old).catch(() => {});
      }
    }
    await Deno.writeTextFile(join(dir, ".aged"), "");
  }
  if (!await exists(join(dir, ".target"))) {
    await Deno.remove(target, { recursive: true }).catch(() => {});
    await run(["cp", "-al", cache, target]);
    await Deno.writeTextFile(join(dir, ".target"), "");
  }
  return { recipes, cache, target, ...await count(cache) };
}
