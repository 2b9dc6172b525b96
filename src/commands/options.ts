/** The options every command reads, and the command names: what the command line fills in. */

/** Every subcommand, in the order `--help` lists them. */
export const COMMAND_NAMES = [
  "upload",
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
}

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
  };
}
