/**
 * `diff A B`: what changed between two signature files, like `bitbake-diffsigs A B`; and
 * `diff --recipe PN --task TASK CACHE`: between the two most recent signatures of that task in a
 * cache, like `bitbake-diffsigs -t PN TASK` in a build directory.
 */
import type { Backend } from "../backends/backend.ts";
import { LocalCache } from "../cache/local_cache.ts";
import { listArtifacts } from "../cache/listing.ts";
import { bareTask } from "../cache/tasks.ts";
import { type Finding, indentEntries, renderFindings } from "../siginfo/changes.ts";
import { compareFindings } from "../siginfo/compare.ts";
import { recursiveCompare, SiginfoIndex } from "../siginfo/lookup.ts";
import type { SigInfo } from "../siginfo/read.ts";
import { Limiter } from "../sync/limiter.ts";
import {
  type Command,
  type CommandContext,
  CommandError,
  DEFAULT_JOBS,
  localPathOf,
  openCache,
} from "./command.ts";
import { describeTask, latestPair, type RecipeTask } from "./diff_recipe.ts";
import { readSignature } from "./dump.ts";
import { jsonDocument } from "./json_doc.ts";

/** How nested findings are indented, per dependency followed (as `analyze` does). */
const INDENT = "    ";

/** The cache to look dependencies up in, if --cache-dir was given. */
async function dependencyCaches(cacheDir?: string): Promise<LocalCache[]> {
  if (cacheDir === undefined) return [];
  const { path, shown } = localPathOf(cacheDir, "--cache-dir");
  const cache = new LocalCache(path, shown);
  if (!(await cache.exists())) throw new CommandError(`cache directory ${shown} does not exist`);
  return [cache];
}

/** Prints the findings: text lines, or with --json one document with lines and records. */
function report(ctx: CommandContext, findings: Finding[], fields: Record<string, unknown>): void {
  const { out, options } = ctx;
  const lines = renderFindings(findings, INDENT);
  if (!options.json) {
    for (const line of lines) out.line(line);
    return;
  }
  const changes = findings.map((f) => ({ ...f.change, text: indentEntries([f.text], "") }));
  const json = jsonDocument({ ...fields, differences: indentEntries(lines, ""), changes });
  out.line(JSON.stringify(json, null, 2));
}

/** `diff A B [--cache-dir DIR]`. */
async function diffFiles(ctx: CommandContext): Promise<number> {
  const { source, target, out, options } = ctx;
  if (source === undefined) throw new CommandError("'diff' needs two signature files");
  if (options.arch) out.warn("--arch has no effect on 'diff A B' (only with --recipe)");
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
  const color = out.color && !options.json;
  const recurse = indexes.length === 0
    ? undefined
    : recursiveCompare({ findA: find, findB: find, missing: () => [], color });
  const findings = await compareFindings(a, b, { color, recurse });
  report(ctx, findings, { a: { path: source }, b: { path: target } });
  return 0;
}

/** `diff --recipe PN --task TASK CACHE`. */
async function diffRecipe(ctx: CommandContext): Promise<number> {
  const { source, target: location, out, options } = ctx;
  if (source !== undefined) {
    throw new CommandError("'diff --recipe' compares signatures in one cache: give only CACHE");
  }
  if (options.tasks.length !== 1 || bareTask(options.tasks[0]) === "") {
    throw new CommandError("'diff --recipe PN' needs one --task TASK");
  }
  if (options.cacheDir !== undefined) {
    throw new CommandError("--cache-dir is for 'diff A B'; with --recipe the cache is CACHE");
  }
  const wanted: RecipeTask = {
    pn: options.recipe!,
    task: bareTask(options.tasks[0]),
    arch: options.arch || undefined,
  };
  const cache: Backend = await openCache(location!, options, out);
  try {
    if (!(await cache.exists({ signal: ctx.abort }))) {
      throw new CommandError(`cache ${cache.displayUrl} does not exist`);
    }
    const { older, newer, artifacts } = await latestPair(cache, wanted, out, ctx.abort);
    const iso = (ms: number) => new Date(ms).toISOString();
    out.info(`comparing the two most recent signatures of ${describeTask(wanted)}:`);
    out.info(`  older: ${older.path} (${iso(older.mtime)})`);
    out.info(`  newer: ${newer.path} (${iso(newer.mtime)})`);
    const index = new SiginfoIndex(cache, artifacts, new Limiter(DEFAULT_JOBS), ctx.abort);
    const [a, b] = await Promise.all([index.get(older.hash)!, index.get(newer.hash)!]);
    const color = out.color && !options.json;
    const recurse = recursiveCompare({
      findA: (hash) => index.get(hash),
      findB: (hash) => index.get(hash),
      missing: (
        _side,
        key,
        hash,
      ) => [`Unable to find matching sigdata for ${key} with hash ${hash}`],
      color,
    });
    const findings = await compareFindings(a, b, { color, recurse });
    const side = (x: typeof older) => ({
      path: x.path,
      hash: x.hash,
      arch: x.arch,
      time: iso(x.mtime),
    });
    report(ctx, findings, {
      cache: cache.displayUrl,
      recipe: wanted.pn,
      task: wanted.task,
      a: side(older),
      b: side(newer),
    });
    return 0;
  } finally {
    await cache.close();
  }
}

export const diff: Command = {
  name: "diff",
  positionals: "A B | --recipe PN --task TASK CACHE",
  options: [
    "color",
    "cache-dir",
    "json",
    "recipe",
    "task",
    "arch",
    "s3-endpoint",
    "s3-path-style",
    "profile",
  ],
  optionHelp: {
    "cache-dir": "diff A B: an sstate cache to look up changed dependencies' signatures in",
    json: "print the differences as lines and as records (docs/json.md)",
    recipe: "compare the two most recent signatures of this recipe's --task in CACHE",
    task: "with --recipe: the task (e.g. dpkg_build or do_dpkg_build)",
    arch: "with --recipe: only signatures of this SSTATE_PKGARCH",
  },
  description:
    "Prints what changed from signature file A (older) to B (newer), one finding per line, in " +
    "the wording of bitbake-diffsigs A B (bitbake 2.8 for JSON files, 1.50 for two pickles); " +
    "nothing when the signatures do not differ. With --cache-dir DIR (an sstate cache), a " +
    "dependency whose hash changed is followed when both of its signatures are in DIR: their " +
    "differences replace that line, indented by four spaces per level, as `analyze` prints " +
    "them. Without --cache-dir nothing is followed, as in bitbake-diffsigs A B. " +
    "With --recipe PN --task TASK and one CACHE (a directory, WebDAV or S3 location), it " +
    "compares the two most recent signatures of that task in the cache (by modification time, " +
    "on remotes the upload time), as bitbake-diffsigs -t PN TASK does in a build directory: the " +
    "two files are named in INFO lines, and changed dependencies are followed in the cache like " +
    "--cache-dir does (a missing one is a line saying so). Sets " +
    "are printed sorted, and changed dependencies followed in sorted order, so the output is " +
    "the same on every run. An unreadable or corrupt file is reported in one line (exit 1); so " +
    "is a cache with fewer than two signatures of the task.",
  examples: [
    "isar-sstate diff old.siginfo new.siginfo",
    "isar-sstate diff --color always --cache-dir build/sstate-cache old.siginfo new.siginfo",
    "isar-sstate diff --recipe hello --task dpkg_build /mnt/sstate",
    "isar-sstate diff --json --recipe busybox --task populate_sysroot s3://bucket/sstate",
  ],

  run(ctx) {
    const { options } = ctx;
    if (options.recipe !== undefined) return diffRecipe(ctx);
    if (options.tasks.length > 0) {
      throw new CommandError("--task needs --recipe PN (diff A B compares two files)");
    }
    return diffFiles(ctx);
  },
};
