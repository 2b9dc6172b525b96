/**
 * Pruning the empty collections of a WebDAV cache (`clean`). DELETE of a collection is recursive
 * and also removes the temporary files of uploads in progress, which PROPFIND does not show. So a
 * collection is deleted only with a tagged `If:` header naming the ETag it had when it was seen
 * empty: a file added since (its temporary file changes the directory's time and so its ETag)
 * makes Apache refuse with 412.
 */
import { checkPath, parentOf } from "../backend.ts";
import { withRetry } from "../retry.ts";
import { type DavClient, PROPS_STAT } from "./client.ts";
import { type DavResource, parseMultistatus } from "./xml.ts";

/** How a prune runs. */
export interface PruneOptions {
  /** Collections of one level deleted at once. */
  jobs: number;
  signal?: AbortSignal;
  /** Told about each collection deleted. */
  removed(dir: string): void;
}

/**
 * Deletes the collections among `dirs` and their ancestors that are empty, deepest first, each
 * level `jobs` at a time; returns how many went. A collection goes only if it still has the ETag
 * it had when it was listed empty.
 */
export async function pruneEmptyCollections(
  client: DavClient,
  dirs: Iterable<string>,
  options: PruneOptions,
): Promise<number> {
  const { signal } = options;
  const all = new Set<string>();
  for (const dir of dirs) {
    for (let d = dir; d !== "" && !all.has(d); d = parentOf(d)) all.add(checkPath(d));
  }
  const byDepth = new Map<number, string[]>();
  for (const d of all) {
    const depth = d.split("/").length;
    byDepth.set(depth, [...byDepth.get(depth) ?? [], d]);
  }
  let removed = 0;
  for (const depth of [...byDepth.keys()].sort((a, b) => b - a)) {
    const level = byDepth.get(depth)!;
    let next = 0;
    const worker = async () => {
      while (next < level.length) {
        const dir = level[next++];
        if (await withRetry(() => pruneOne(client, dir, signal), signal)) {
          options.removed(dir);
          removed++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.jobs, level.length) }, worker));
  }
  return removed;
}

/** Deletes collection `dir` if it is empty and unchanged since seen so; whether it did. */
async function pruneOne(client: DavClient, dir: string, signal?: AbortSignal): Promise<boolean> {
  const url = client.url(dir, true);
  const what = `cannot prune ${dir}`;
  let resources: DavResource[];
  {
    using watch = client.watch(signal);
    const res = await client.propfind(url, "1", PROPS_STAT, what, watch);
    if (res.status !== 207) {
      await res.body?.cancel();
      const err = client.statusError(res, what);
      if (err.scope === "file") return false; // gone, or not a collection
      throw err;
    }
    const text = new TextDecoder().decode(await client.readBody(res, what, watch));
    try {
      resources = parseMultistatus(text);
    } catch {
      return false;
    }
  }
  const self = client.resourceAt(resources, url, dir);
  const members = resources.filter((r) => r !== self && client.relative(r.href, url) !== dir);
  // Without an ETag there is no safe way to delete only an empty collection: keep it.
  if (!self?.collection || !self.etag || members.length > 0) return false;
  using watch = client.watch(signal);
  const res = await client.send(
    "DELETE",
    url,
    { headers: { If: `<${url}> ([${self.etag}])` } },
    what,
    watch,
  );
  await res.body?.cancel();
  if (res.status === 200 || res.status === 204) return true;
  const err = client.statusError(res, what);
  if (err.scope === "file") return false; // changed meanwhile (412, 424), or gone (404)
  throw err;
}
