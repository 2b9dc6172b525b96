/** Listing a cache as artifacts: one streaming pass over a backend, names parsed. */
import type { Backend, Entry, ListOptions } from "../backends/backend.ts";
import { type Artifact, parseArtifactName } from "./artifact.ts";
import { copyOf } from "./interner.ts";
import type { ArtifactFilter } from "./filter.ts";

/** A cache's artifacts, plus the other files seen (temporary files, locks, strangers). */
export interface Listing {
  artifacts: Artifact[];
  others: Entry[];
  /** Parts of the cache skipped with a warning (passed to `options.onWarning`). */
  skipped: number;
}

/**
 * Sorts `entries` into `into`: the artifacts that pass `filter`, and the files that are not
 * artifacts at all (artifacts the filter leaves out are in neither). Order is kept.
 */
export function classify(
  entries: Iterable<Entry>,
  filter?: ArtifactFilter,
  into: Pick<Listing, "artifacts" | "others"> = { artifacts: [], others: [] },
): Pick<Listing, "artifacts" | "others"> {
  for (const entry of entries) {
    const name = parseArtifactName(entry.path);
    if (!name) into.others.push(entry);
    else if (!filter || filter(name)) into.artifacts.push({ ...entry, ...name });
  }
  return into;
}

/** Lists every artifact of a cache that passes `filter`. */
export async function listArtifacts(
  backend: Pick<Backend, "list">,
  filter?: ArtifactFilter,
  options?: ListOptions,
): Promise<Listing> {
  const listing: Listing = { artifacts: [], others: [], skipped: 0 };
  const onWarning = (message: string) => {
    listing.skipped++;
    options?.onWarning?.(message);
  };
  // Notes (links not followed) are passed on but are no skipped parts.
  const onNote = options?.onNote ?? options?.onWarning;
  for await (const batch of backend.list({ ...options, onWarning, onNote })) {
    classify(batch, filter, listing);
  }
  return listing;
}

/** What `scanArtifacts` leaves besides the artifacts it passed on. */
export interface Scan {
  /** The files that are no artifacts (their paths copied: no listing's batch is kept alive). */
  others: Entry[];
  /** Parts of the cache skipped with a warning (passed to `options.onWarning`). */
  skipped: number;
}

/**
 * Lists every artifact of a cache that passes `filter` batch by batch, without keeping them:
 * `onArtifacts` sees each batch (its objects and strings are the listing's, to be copied if
 * kept), so that memory does not grow with the cache.
 */
export async function scanArtifacts(
  backend: Pick<Backend, "list">,
  filter: ArtifactFilter | undefined,
  options: ListOptions,
  onArtifacts: (artifacts: Artifact[]) => void,
): Promise<Scan> {
  const scan: Scan = { others: [], skipped: 0 };
  const onWarning = (message: string) => {
    scan.skipped++;
    options.onWarning?.(message);
  };
  const onNote = options.onNote ?? options.onWarning;
  const artifacts: Artifact[] = [];
  for await (const batch of backend.list({ ...options, onWarning, onNote })) {
    for (const entry of batch) {
      const name = parseArtifactName(entry.path);
      if (!name) scan.others.push({ ...entry, path: copyOf(entry.path) });
      else if (!filter || filter(name)) artifacts.push({ ...entry, ...name });
    }
    onArtifacts(artifacts);
    artifacts.length = 0;
  }
  return scan;
}
