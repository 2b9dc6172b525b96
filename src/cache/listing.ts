/** Listing a cache as artifacts: one streaming pass over a backend, names parsed. */
import type { Backend, ListOptions } from "../backends/backend.ts";
import { type Artifact, parseArtifactName } from "./artifact.ts";
import type { ArtifactFilter } from "./filter.ts";

/** A cache's artifacts, plus how many other files were seen (temp files, locks, strangers). */
export interface Listing {
  artifacts: Artifact[];
  otherFiles: number;
}

/** Lists every artifact of a cache that passes `filter`. */
export async function listArtifacts(
  backend: Backend,
  filter?: ArtifactFilter,
  options?: ListOptions,
): Promise<Listing> {
  const artifacts: Artifact[] = [];
  let otherFiles = 0;
  for await (const entry of backend.list(options)) {
    const name = parseArtifactName(entry.path);
    if (!name) {
      otherFiles++;
      continue;
    }
    if (filter && !filter(name)) continue;
    artifacts.push({ ...entry, ...name });
  }
  return { artifacts, otherFiles };
}

/** Total size in the reference tool's unit: GiB with two decimals. */
export function formatGb(bytes: number): string {
  return (bytes / 1024 / 1024 / 1024).toFixed(2);
}
