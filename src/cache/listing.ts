/** Listing a cache as artifacts: one streaming pass over a backend, names parsed. */
import type { Backend, Entry, ListOptions } from "../backends/backend.ts";
import { type Artifact, parseArtifactName } from "./artifact.ts";
import type { ArtifactFilter } from "./filter.ts";

/** A cache's artifacts, plus the other files seen (temporary files, locks, strangers). */
export interface Listing {
  artifacts: Artifact[];
  others: Entry[];
  /** Parts of the cache skipped with a warning (passed to `options.onWarning`). */
  skipped: number;
}

/** Lists every artifact of a cache that passes `filter`. */
export async function listArtifacts(
  backend: Backend,
  filter?: ArtifactFilter,
  options?: ListOptions,
): Promise<Listing> {
  const artifacts: Artifact[] = [];
  const others: Entry[] = [];
  let skipped = 0;
  const onWarning = (message: string) => {
    skipped++;
    options?.onWarning?.(message);
  };
  // Notes (links not followed) are passed on but are no skipped parts.
  const onNote = options?.onNote ?? options?.onWarning;
  for await (const batch of backend.list({ ...options, onWarning, onNote })) {
    for (const entry of batch) {
      const name = parseArtifactName(entry.path);
      if (!name) others.push(entry);
      else if (!filter || filter(name)) artifacts.push({ ...entry, ...name });
    }
  }
  return { artifacts, others, skipped };
}
