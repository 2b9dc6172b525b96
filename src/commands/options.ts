/** The options every command reads, and the command names: what the command line fills in. */

/** Every subcommand, in the order `--help` lists them. */
export const COMMAND_NAMES = [
  "upload",
  "watch",
  "clean",
  "info",
  "analyze",
  "lint",
  "diff",
  "dump",
] as const;
export type CommandName = typeof COMMAND_NAMES[number];

/** Parsed options; names follow the long flags in camelCase. */
export interface Options {
  verbose: boolean;
  quiet: boolean;
  debug: boolean;
  help: boolean;
  version: boolean;
  dryRun: boolean;
  json: boolean;
  jobs?: number;
  color: "auto" | "always" | "never";
  maxAge: string;
  maxSigAge?: string;
  filter?: string;
  arch?: string;
  sourcesDir: string;
  buildDir: string;
  pedantic: boolean;
  exitCode?: number;
  lintStamps: boolean;
  excludedTasks: string;
  cacheDir?: string;
  s3Endpoint?: string;
  s3PathStyle: boolean;
  /** S3: the AWS profile (`--profile`). */
  profile?: string;
  /** watch: ms a new file must stay unchanged before it is uploaded. */
  settle?: number;
  /** watch: seconds between full rescans of the source. */
  rescanInterval?: number;
  /** watch: where the target's index is kept between runs ("" for nowhere). */
  indexFile?: string;
  /** upload, watch: refresh used artifacts whose last use on the target is older than this. */
  refreshAfter: string;
  /** clean: stamps directories whose hashes are never deleted (`--keep-stamps`, repeatable). */
  keepStamps: string[];
  /** clean: keep only the N most recently used versions of each recipe/arch/task. */
  keepNewest?: number;
  /** clean: delete least recently used archives until the cache is at most this size. */
  maxSize?: string;
  /** info: report how much was last used when. */
  lastUse: boolean;
  /** watch: the command after `--` to run while watching. */
  wrapped?: string[];
  /** analyze, diff: the tasks to look at (`--task`, repeatable; empty: the command's default). */
  tasks: string[];
  /** diff: the recipe (PN) whose last two signatures of `--task` are compared. */
  recipe?: string;
}

/**
 * Every option the Python tool accepts (long names). Each command accepts all of them, as the
 * Python tool does; a command on which one has no effect says so in one warning.
 */
export const REFERENCE_OPTIONS: readonly string[] = [
  "help",
  "verbose",
  "max-age",
  "max-sig-age",
  "filter",
  "arch",
  "sources-dir",
  "build-dir",
  "pedantic",
  "exit-code",
  "lint-stamps",
  "excluded-tasks",
];

/** Defaults, identical to the reference tool's where it has the option. */
export function defaultOptions(): Options {
  return {
    verbose: false,
    quiet: false,
    debug: false,
    help: false,
    version: false,
    dryRun: false,
    json: false,
    color: "auto",
    maxAge: "1d",
    sourcesDir: "/work/",
    buildDir: "/build/tmp/",
    pedantic: false,
    lintStamps: false,
    excludedTasks: "rootfs_wicenv,image_wic",
    s3PathStyle: false,
    tasks: [],
    refreshAfter: "1d",
    keepStamps: [],
    lastUse: false,
  };
}
