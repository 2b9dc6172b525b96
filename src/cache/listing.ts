/** Listing a cache as artifacts: one streaming pass over a backend, names parsed. */
import type { Backend, Entry, ListOptions } from "../backends/backend.ts";
import { type Artifact, parseArtifactName } from "./artifact.ts";
import type { ArtifactFilter } from "./filter.ts";

/** A cache's artifacts, plus the other files seen (temporary files, locks, strangers). */
export interface Listing {
  artifacts: Artifact[];
  others: Entry[];
}

/** Lists every artifact of a cache that passes `filter`. */
export async function listArtifacts(
  backend: Backend,
  filter?: ArtifactFilter,
  options?: ListOptions,
): Promise<Listing> {
  const artifacts: Artifact[] = [];
  const others: Entry[] = [];
  for await (const entry of backend.list(options)) {
    const name = parseArtifactName(entry.path);
    if (!name) {
      others.push(entry);
      continue;
    }
    if (filter && !filter(name)) continue;
    artifacts.push({ ...entry, ...name });
  }
  return { artifacts, others };
}
