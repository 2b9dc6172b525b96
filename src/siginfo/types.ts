/** The contents of a bitbake signature file (`.siginfo`, `.sigdata.*`), format-independent. */

/** How the file was stored: zstd-compressed JSON (bitbake >= 2.0) or a pickle (bitbake <= 1.52). */
export type SiginfoFormat = "json" | "pickle";

/**
 * One signature, with bitbake's key names (old names already mapped to the new ones).
 * Python sets are `Set`s; dictionaries keep the order the file stored them in.
 */
export interface SigInfo {
  /** Storage format; it also selects which bitbake's wording compare/dump reproduce. */
  format: SiginfoFormat;
  /** The file used the old key names `basewhitelist` / `taskwhitelist`. */
  legacy_names: boolean;
  /** Task name, e.g. `do_fetch` (absent in very old files). */
  task?: string;
  basehash_ignore_vars: Set<string>;
  /** A regular expression, or null when none was set. */
  taskhash_ignore_tasks: string | null;
  /** Variable names; bitbake 2.x stores a set, printed here as a sorted list. */
  taskdeps: string[];
  basehash: string;
  gendeps: Record<string, Set<string>>;
  varvals: Record<string, string | null>;
  runtaskdeps?: string[];
  file_checksum_values?: [string, string | null][];
  runtaskhashes?: Record<string, string>;
  taskhash?: string;
  unihash?: string;
  taint?: string;
}
