/**
 * Finding the signature of a task hash in a cache listing, reading each file at most once, and
 * following changed dependencies recursively while comparing (shared by `analyze` and `diff`).
 */
import { type Backend, describeError, isAbortError } from "../backends/backend.ts";
import { type Artifact, artifactKind } from "../cache/artifact.ts";
import { type Finding, finding, nested } from "./changes.ts";
import { compareFindings } from "./compare.ts";
import { parseSiginfo, type SigInfo, SiginfoError } from "./read.ts";

/** Something that runs async tasks with bounded parallelism (the process's limiter). */
export interface TaskRunner {
  run<T>(task: () => Promise<T>): Promise<T>;
}

function comparePaths(a: Artifact, b: Artifact): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/** A cache's signature files by task hash; each file is downloaded and parsed at most once. */
export class SiginfoIndex {
  #byHash = new Map<string, Artifact>();
  #loads = new Map<string, Promise<SigInfo>>();

  /** Indexes the siginfo files among `artifacts`; of several with one hash the first path wins. */
  constructor(
    readonly backend: Pick<Backend, "displayUrl" | "read">,
    artifacts: readonly Artifact[],
    readonly limiter: TaskRunner,
    readonly signal?: AbortSignal,
  ) {
    const siginfos = artifacts.filter((a) => artifactKind(a.suffix) === "siginfo");
    for (const a of siginfos.sort(comparePaths)) {
      if (!this.#byHash.has(a.hash)) this.#byHash.set(a.hash, a);
    }
  }

  /** The siginfo file of `hash`, if the cache has one. */
  find(hash: string): Artifact | undefined {
    return this.#byHash.get(hash);
  }

  /** The parsed signature of `hash`, or undefined if the cache has none. Rejects with a SiginfoError. */
  get(hash: string): Promise<SigInfo> | undefined {
    const artifact = this.#byHash.get(hash);
    if (!artifact) return undefined;
    let load = this.#loads.get(artifact.path);
    if (!load) {
      load = this.limiter.run(() => this.#read(artifact.path));
      // Failures surface where the signature is awaited; a load nobody awaits must not crash.
      load.catch(() => {});
      this.#loads.set(artifact.path, load);
    }
    return load;
  }

  async #read(path: string): Promise<SigInfo> {
    const name = `${this.backend.displayUrl}/${path}`;
    let bytes: Uint8Array | null;
    try {
      bytes = await this.backend.read(path, { signal: this.signal });
    } catch (err) {
      if (isAbortError(err)) throw err;
      throw new SiginfoError(name, `cannot read: ${describeError(err)}`, { cause: err });
    }
    if (bytes === null) throw new SiginfoError(name, "disappeared from the cache");
    return parseSiginfo(bytes, name);
  }
}

/** How a recursive comparison finds dependency signatures and words what it cannot find. */
export interface RecursionSources {
  /** The signature of `hash` on the older ("a", remote) side, if known. */
  findA(hash: string): Promise<SigInfo> | undefined;
  /** The signature of `hash` on the newer ("b", local) side, if known. */
  findB(hash: string): Promise<SigInfo> | undefined;
  /** The lines to show when a side's signature is missing (none: do not recurse). */
  missing(side: "a" | "b", key: string, hash: string): string[];
  color: boolean;
}

/**
 * The `recurse` callback for compareFindings: compares the changed dependency's own signatures
 * (recursively). Results are memoized per hash pair; a missing dependency signature gives the
 * `missing` lines, an unreadable one an `ERROR: …` line.
 */
export function recursiveCompare(
  src: RecursionSources,
): (key: string, hashA: string, hashB: string) => Promise<Finding[]> {
  // Per hash pair: the comparison's findings, or why a signature could not be read.
  const memo = new Map<string, Promise<{ found: Finding[] } | { error: string }>>();
  const missing = (side: "a" | "b", key: string, hash: string) =>
    src.missing(side, key, hash).map((line) =>
      finding(line, "missingSignature", {
        change: null,
        name: key,
        old: side === "a" ? hash : null,
        new: side === "b" ? hash : null,
      })
    );
  const recurse = async (key: string, hashA: string, hashB: string): Promise<Finding[]> => {
    const a = src.findA(hashA);
    if (!a) return missing("a", key, hashA);
    const b = src.findB(hashB);
    if (!b) return missing("b", key, hashB);
    const pair = `${hashA} ${hashB}`;
    let result = memo.get(pair);
    if (!result) {
      result = (async () => {
        let sigs: [SigInfo, SigInfo];
        try {
          sigs = await Promise.all([a, b]);
        } catch (err) {
          if (err instanceof SiginfoError) return { error: err.message };
          throw err;
        }
        return { found: await compareFindings(sigs[0], sigs[1], { color: src.color, recurse }) };
      })();
      memo.set(pair, result);
    }
    const outcome = await result;
    if ("found" in outcome) return nested(outcome.found, key);
    const values = { change: null, name: key, old: hashA, new: hashB };
    return [finding(`ERROR: ${outcome.error}`, "unreadableSignature", values)];
  };
  return recurse;
}
