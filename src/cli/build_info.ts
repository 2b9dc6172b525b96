/**
 * Which build this is, for `--version`. In a checkout it says "from source"; `scripts/stage.ts`
 * writes this file anew in the tree that `deno compile` makes a binary of, naming the git revision
 * it was built from (e.g. "git 1a2b3c4d5e6f").
 */
export const BUILD = "from source" as string;
