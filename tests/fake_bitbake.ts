/**
 * A stand-in for a bitbake build, for the watch tests: `fake_bitbake.ts SSTATE_DIR COUNT EXIT
 * [TAG]` writes COUNT artifacts as bitbake does, in bursts into new directories, then exits with
 * EXIT.
 */
import { writeLikeBitbake } from "./watch_helpers.ts";

const [root, count, exit, tag = "w"] = Deno.args;
for (let n = 0; n < Number(count); n++) {
  writeLikeBitbake(root, n, tag);
  if (n % 25 === 24) await new Promise((r) => setTimeout(r, 100)); // the next burst
}
Deno.exit(Number(exit));
