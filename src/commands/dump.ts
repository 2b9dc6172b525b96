/** `dump FILE`: one signature file listed like `bitbake-dumpsig`. */
import { dumpSigfile } from "../siginfo/dump.ts";
import { readSiginfoFile, type SigInfo, SiginfoError } from "../siginfo/read.ts";
import { type Command, CommandError, localPathOf } from "./command.ts";

/**
 * Reads a signature file (a path or file://PATH; any other URL is an error); a SiginfoError
 * becomes a one-line CommandError naming the file.
 */
export async function readSignature(argument: string): Promise<SigInfo> {
  const { path } = localPathOf(argument, "signature file");
  try {
    return await readSiginfoFile(path);
  } catch (err) {
    if (err instanceof SiginfoError) throw new CommandError(err.message);
    throw err;
  }
}

export const dump: Command = {
  name: "dump",
  positionals: "FILE",
  options: [],
  description:
    "Prints what bitbake-dumpsig prints for FILE, a .siginfo or .sigdata.* file of either " +
    "format: zstd-compressed JSON (bitbake 2.x, worded like bitbake 2.8) or a pickle (bitbake " +
    "1.x, worded like bitbake 1.50). Sets are printed sorted, so the output is the same on " +
    "every run. The computed base and task hashes at the end show whether the file is " +
    "consistent. An unreadable or corrupt file is reported in one line (exit 1).",
  examples: [
    "isar-sstate dump sstate-cache/ab/cd/sstate:hello:...:abcd..._dpkg_build.tar.zst.siginfo",
    "isar-sstate dump tmp/stamps/debian-bookworm-arm64/hello/2.10-r0.do_fetch.sigdata.abcd...",
  ],

  async run(ctx) {
    const { source, target } = ctx;
    if (source !== undefined) throw new CommandError("'dump' takes one signature file");
    const sig = await readSignature(target!);
    for (const line of dumpSigfile(sig)) ctx.out.line(line);
    return 0;
  },
};
