/** The hashes that bitbake stamps directories name, for `clean --keep-stamps`. */
import { InputError } from "./input_error.ts";
import { LocalCache } from "./local_cache.ts";
import { stampHash } from "./stamps.ts";

/**
 * Every hash named by a stamp file (`*.sigdata.HASH`, `*_setscene.HASH`) below the directories
 * `dirs`. A directory that is missing or not a directory is an InputError: a typo must not let
 * clean delete what the builds need.
 */
export async function stampHashes(
  dirs: readonly string[],
  onWarning: (message: string) => void,
): Promise<Set<string>> {
  const hashes = new Set<string>();
  for (const dir of dirs) {
    const stamps = new LocalCache(dir, dir, { onNote: onWarning });
    try {
      const kind = await stamps.rootKind();
      if (kind !== "directory") {
        throw new InputError(
          `stamps directory ${dir} ${kind === "missing" ? "does not exist" : "is not a directory"}`,
        );
      }
      for (const { files } of stamps.walk({ metadata: false, onWarning })) {
        for (const f of files) {
          const hash = stampHash(f.path);
          if (hash) hashes.add(hash);
        }
      }
    } finally {
      await stamps.close();
    }
  }
  return hashes;
}
