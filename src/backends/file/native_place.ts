/**
 * The fast way to place a file on Linux, through libc: the copy is written into an unnamed file
 * (`O_TMPFILE`) in the target directory with `copy_file_range`, then given its name with one
 * `linkat`, which fails if the name exists. Readers never see a partial file, the name appears
 * at most once, and a killed process leaves nothing behind (an unnamed file is freed by the
 * kernel). Fewer system calls than `cp`. Where libc or `O_TMPFILE` is not available (another
 * OS, musl, NFS), `nativePlace` says "unsupported" and the portable way is used.
 */
import type { CancelCheck, PlaceJob, PlaceOutcome } from "./place_job.ts";
import { lastErrno, openLibc } from "../libc.ts";

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_CLOEXEC = 0o2000000;
/** `O_TMPFILE` includes `O_DIRECTORY`, whose value differs between architectures. */
const O_TMPFILE = 0o20000000 | (Deno.build.arch === "aarch64" ? 0o40000 : 0o200000);
const AT_FDCWD = -100;
const AT_SYMLINK_FOLLOW = 0x400;
const CHUNK = 1n << 30n;

/** errno values (the same on x86_64 and aarch64 Linux) and their names and texts. */
const ERRNO: Record<number, [string, string]> = {
  1: ["EPERM", "Operation not permitted"],
  2: ["ENOENT", "No such file or directory"],
  4: ["EINTR", "Interrupted system call"],
  5: ["EIO", "Input/output error"],
  11: ["EAGAIN", "Resource temporarily unavailable"],
  13: ["EACCES", "Permission denied"],
  16: ["EBUSY", "Device or resource busy"],
  17: ["EEXIST", "File exists"],
  18: ["EXDEV", "Invalid cross-device link"],
  20: ["ENOTDIR", "Not a directory"],
  21: ["EISDIR", "Is a directory"],
  22: ["EINVAL", "Invalid argument"],
  23: ["ENFILE", "Too many open files in system"],
  24: ["EMFILE", "Too many open files"],
  27: ["EFBIG", "File too large"],
  28: ["ENOSPC", "No space left on device"],
  30: ["EROFS", "Read-only file system"],
  31: ["EMLINK", "Too many links"],
  36: ["ENAMETOOLONG", "File name too long"],
  38: ["ENOSYS", "Function not implemented"],
  95: ["EOPNOTSUPP", "Operation not supported"],
  110: ["ETIMEDOUT", "Connection timed out"],
  122: ["EDQUOT", "Disk quota exceeded"],
};

/** Errors of `open(O_TMPFILE)` that mean "not on this filesystem". */
const NO_TMPFILE = new Set(["EOPNOTSUPP", "EISDIR", "EINVAL", "ENOSYS"]);
/** Errors of `copy_file_range` that mean "not between these files": use `sendfile`. */
const NO_COPY_RANGE = new Set(["EXDEV", "EINVAL", "ENOSYS", "EOPNOTSUPP"]);

const SYMBOLS = {
  open: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  copy_file_range: {
    parameters: ["i32", "pointer", "i32", "pointer", "usize", "u32"],
    result: "isize",
  },
  sendfile: { parameters: ["i32", "i32", "pointer", "usize"], result: "isize" },
  linkat: { parameters: ["i32", "buffer", "i32", "buffer", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

const encoder = new TextEncoder();
const cString = (s: string) => encoder.encode(`${s}\0`);

/** An error as Deno's own file calls make them: the text, and the errno name as `code`. */
function systemError(c: Libc, call: string, path: string): Error & { code: string } {
  const errno = lastErrno(c.__errno_location);
  const [code, text] = ERRNO[errno] ?? [`E${errno}`, `errno ${errno}`];
  return Object.assign(new Error(`${text} (os error ${errno}): ${call} '${path}'`), { code });
}

/** Opens an unnamed file in `dir`, creating the directory if needed; null if unsupported. */
function openUnnamed(c: Libc, dir: string, madeDirs: Set<string>): number | null {
  const flags = O_TMPFILE | O_WRONLY | O_CLOEXEC;
  let fd = c.open(cString(dir), flags, 0o644);
  if (fd < 0) {
    const err = systemError(c, "open", dir);
    if (NO_TMPFILE.has(err.code)) return null;
    if (err.code !== "ENOENT") throw err;
    Deno.mkdirSync(dir, { recursive: true });
    fd = c.open(cString(dir), flags, 0o644);
    if (fd < 0) {
      const again = systemError(c, "open", dir);
      if (NO_TMPFILE.has(again.code)) return null;
      throw again;
    }
  }
  madeDirs.add(dir);
  return fd;
}

/** Copies everything from `from` to `to`; returns the bytes copied. */
function copyAll(c: Libc, from: number, to: number, source: string): number {
  let total = 0;
  let useCopyRange = true;
  for (;;) {
    const n = Number(
      useCopyRange
        ? c.copy_file_range(from, null, to, null, CHUNK, 0)
        : c.sendfile(to, from, null, CHUNK),
    );
    if (n > 0) total += n;
    else if (n === 0) return total;
    else {
      const err = systemError(c, useCopyRange ? "copy_file_range" : "sendfile", source);
      if (!useCopyRange || total > 0 || !NO_COPY_RANGE.has(err.code)) throw err;
      useCopyRange = false;
    }
  }
}

/**
 * Places one file the fast way: "unsupported" where it cannot (the caller then uses the
 * portable way), "cancelled" if the job was cancelled before the name was given (then it is
 * committed: see `CancelCheck`).
 * Replacing (non-exclusive) jobs are left to the portable way.
 */
export function nativePlace(
  job: PlaceJob,
  madeDirs: Set<string>,
  check: CancelCheck,
): PlaceOutcome | "unsupported" {
  const c = openLibc(SYMBOLS);
  if (!c || !job.exclusive) return "unsupported";
  const dir = job.target.slice(0, job.target.lastIndexOf("/"));
  const src = c.open(cString(job.source), O_RDONLY | O_CLOEXEC, 0);
  if (src < 0) throw systemError(c, "open", job.source);
  try {
    const out = openUnnamed(c, dir, madeDirs);
    if (out === null) return "unsupported";
    try {
      const copied = copyAll(c, src, out, job.source);
      if (copied !== job.size) {
        throw Object.assign(
          new Error(`size changed: expected ${job.size} bytes, copied ${copied}`),
          { code: "ESIZE" },
        );
      }
      if (check.cancelledOrCommit()) return "cancelled";
      const linked = c.linkat(
        AT_FDCWD,
        cString(`/proc/self/fd/${out}`),
        AT_FDCWD,
        cString(job.target),
        AT_SYMLINK_FOLLOW,
      );
      if (linked === 0) return "stored";
      const err = systemError(c, "link", job.target);
      // No /proc, or the directory was pruned meanwhile: the portable way copes with both.
      if (err.code === "ENOENT") return "unsupported";
      if (err.code !== "EEXIST") throw err;
      if (Deno.lstatSync(job.target).isDirectory) throw new Error(`${job.target} is a directory`);
      return "exists";
    } finally {
      c.close(out);
    }
  } finally {
    c.close(src);
  }
}
