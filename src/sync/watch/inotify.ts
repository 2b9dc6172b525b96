/**
 * File system events of a local tree through Linux inotify, called in libc: one watch per real
 * directory of the tree. Watches are never added through symbolic links (the walk that adds
 * them does not follow links, and each watch is added with `IN_DONT_FOLLOW | IN_ONLYDIR`), so
 * a link in the tree, to `/` say, never brings directories outside it into the watch. New
 * directories get their watches as their events arrive. Where libc or inotify is not available,
 * `TreeWatch.open` throws and the caller rescans instead.
 */

import { lastErrno, openLibc } from "../../backends/libc.ts";

const IN_ATTRIB = 0x4;
const IN_CLOSE_WRITE = 0x8;
const IN_MOVED_FROM = 0x40;
const IN_MOVED_TO = 0x80;
const IN_CREATE = 0x100;
const IN_Q_OVERFLOW = 0x4000;
const IN_IGNORED = 0x8000;
const IN_ONLYDIR = 0x1000000;
const IN_DONT_FOLLOW = 0x2000000;
const IN_EXCL_UNLINK = 0x4000000;
const IN_ISDIR = 0x40000000;
/** `O_NONBLOCK` and `O_CLOEXEC`, the same for inotify and eventfd on x86_64 and aarch64. */
const NONBLOCK = 0o4000;
const CLOEXEC = 0o2000000;
const POLLIN = 1;
const EAGAIN = 11;
const EINTR = 4;
/** Errors of `inotify_add_watch` that mean "no such directory (any more)": nothing to watch. */
const GONE = new Set([2, /* ENOENT */ 13, /* EACCES */ 20, /* ENOTDIR */ 40 /* ELOOP */]);
const ERRNO_NAMES: Record<number, string> = {
  12: "ENOMEM: Cannot allocate memory",
  24: "EMFILE: Too many open files",
  28: "ENOSPC: the inotify watch limit is reached",
};

/** What each watch reports. */
const MASK = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_ATTRIB | IN_EXCL_UNLINK;

const SYMBOLS = {
  inotify_init1: { parameters: ["i32"], result: "i32" },
  inotify_add_watch: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  inotify_rm_watch: { parameters: ["i32", "i32"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

function errno(c: Libc): number {
  return lastErrno(c.__errno_location);
}

function failure(call: string, code: number): Error {
  return new Error(`${call} failed: ${ERRNO_NAMES[code] ?? `errno ${code}`} (os error ${code})`);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A change in the watched tree: a name created, written, moved in or changed in its mode. */
export interface TreeEvent {
  /** Relative to the root. */
  path: string;
  /** A directory (it is watched from now on, with everything below it). */
  directory: boolean;
}

/** Where a tree watch reports. */
export interface TreeWatchEvents {
  /** Changes, in the order they came. */
  changed(events: TreeEvent[]): void;
  /** Events were lost (the kernel's queue overflowed): whatever changed must be looked for. */
  overflow(): void;
  /** Watching stopped (e.g. the watch limit was reached for a new directory). */
  failed(err: Error): void;
}

/** Inotify watches on every real directory of a tree. */
export class TreeWatch {
  #c: Libc;
  #fd: number;
  #wake: number;
  #closed = false;
  #looping = false;
  /** Directory of each watch, relative ("" for the root), and the other way round. */
  #dirOf = new Map<number, string>();
  #watchOf = new Map<string, number>();

  private constructor(c: Libc, fd: number, wake: number, readonly root: string) {
    this.#c = c;
    this.#fd = fd;
    this.#wake = wake;
  }

  /**
   * Watches the tree below `root` (synchronously: from the return on, no change is missed) and
   * reports to `events`. Throws where inotify is not available or its limits are reached.
   */
  static open(root: string, events: TreeWatchEvents): TreeWatch {
    const c = openLibc(SYMBOLS);
    if (!c) throw new Error("inotify is not available here (no Linux libc)");
    const fd = c.inotify_init1(NONBLOCK | CLOEXEC);
    if (fd < 0) throw failure("inotify_init1", errno(c));
    const wake = c.eventfd(0, NONBLOCK | CLOEXEC);
    if (wake < 0) {
      const code = errno(c);
      c.close(fd);
      throw failure("eventfd", code);
    }
    const watch = new TreeWatch(c, fd, wake, root);
    try {
      watch.#addTree("");
    } catch (err) {
      watch.close();
      throw err;
    }
    watch.#loop(events);
    return watch;
  }

  /** Stops watching (the waiting thread wakes up and lets go of the descriptors). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#looping) this.#c.write(this.#wake, new BigUint64Array([1n]), 8n);
    else this.#release();
  }

  #release(): void {
    this.#c.close(this.#fd);
    this.#c.close(this.#wake);
  }

  /** Adds watches on `rel` and every real directory below it; throws at the watch limit. */
  #addTree(rel: string): void {
    const pending = [rel];
    while (pending.length > 0) {
      const dir = pending.pop()!;
      if (this.#watchOf.has(dir)) continue;
      const abs = dir === "" ? this.root : `${this.root}/${dir}`;
      // The root may be given as a link; nothing below it is followed.
      const flags = MASK | IN_ONLYDIR | (dir === "" ? 0 : IN_DONT_FOLLOW);
      const wd = this.#c.inotify_add_watch(this.#fd, encoder.encode(`${abs}\0`), flags);
      if (wd < 0) {
        const code = errno(this.#c);
        if (GONE.has(code) && dir !== "") continue;
        throw failure(`inotify_add_watch ${dir === "" ? "of the root" : dir}`, code);
      }
      this.#dirOf.set(wd, dir);
      this.#watchOf.set(dir, wd);
      try {
        for (const e of Deno.readDirSync(abs)) {
          if (e.isDirectory) pending.push(dir === "" ? e.name : `${dir}/${e.name}`);
        }
      } catch {
        // gone or unreadable: its events say when it can be read
      }
    }
  }

  /** Drops the watches of `rel` and below (it moved away). */
  #dropTree(rel: string): void {
    for (const [dir, wd] of this.#watchOf) {
      if (dir !== rel && !dir.startsWith(`${rel}/`)) continue;
      this.#c.inotify_rm_watch(this.#fd, wd);
      this.#watchOf.delete(dir);
      this.#dirOf.delete(wd);
    }
  }

  /** Waits for events on a thread of the runtime's pool, until closed. */
  async #loop(events: TreeWatchEvents): Promise<void> {
    this.#looping = true;
    const fds = new Int32Array([this.#fd, POLLIN, this.#wake, POLLIN]);
    const buffer = new Uint8Array(65536);
    try {
      while (!this.#closed) {
        fds[1] = fds[3] = POLLIN; // clears revents
        await this.#c.poll(new Uint8Array(fds.buffer), 2n, -1);
        if (this.#closed) break;
        this.#drain(buffer, events);
      }
    } catch (err) {
      if (!this.#closed) events.failed(err instanceof Error ? err : new Error(String(err)));
      this.#closed = true;
    } finally {
      this.#looping = false;
      this.#release();
    }
  }

  /** Reads and reports every event queued. */
  #drain(buffer: Uint8Array, events: TreeWatchEvents): void {
    const view = new DataView(buffer.buffer);
    const changed: TreeEvent[] = [];
    let overflow = false;
    let failed: unknown;
    for (;;) {
      const n = Number(this.#c.read(this.#fd, buffer, BigInt(buffer.length)));
      if (n < 0) {
        const code = errno(this.#c);
        if (code === EINTR) continue;
        if (code === EAGAIN) break;
        throw failure("read of inotify events", code);
      }
      if (n === 0) break;
      for (let at = 0; at < n;) {
        const wd = view.getInt32(at, true);
        const mask = view.getUint32(at + 4, true);
        const len = view.getUint32(at + 12, true);
        const raw = buffer.subarray(at + 16, at + 16 + len);
        const end = raw.indexOf(0);
        const name = decoder.decode(end < 0 ? raw : raw.subarray(0, end));
        at += 16 + len;
        if (mask & IN_Q_OVERFLOW) overflow = true;
        const dir = this.#dirOf.get(wd);
        if (mask & IN_IGNORED) {
          if (dir !== undefined && this.#watchOf.get(dir) === wd) this.#watchOf.delete(dir);
          this.#dirOf.delete(wd);
          continue;
        }
        if (dir === undefined || name === "") continue;
        const path = dir === "" ? name : `${dir}/${name}`;
        if (!(mask & IN_ISDIR)) {
          if (!(mask & IN_MOVED_FROM)) changed.push({ path, directory: false });
        } else if (mask & IN_MOVED_FROM) this.#dropTree(path);
        else {
          try {
            if (failed === undefined) this.#addTree(path);
          } catch (err) {
            failed = err; // the watch limit, say: reported after the events
          }
          changed.push({ path, directory: true });
        }
      }
    }
    if (overflow) events.overflow();
    if (changed.length > 0) events.changed(changed);
    if (failed !== undefined) throw failed;
  }
}
