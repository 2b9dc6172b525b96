/**
 * libc through Deno's FFI, for the Linux-only fast paths (placing files, inotify). Each caller
 * names the functions it needs; where libc cannot be loaded (not Linux with glibc, no FFI
 * permission) it gets null and takes its portable way.
 */

const loaded = new Map<Deno.ForeignLibraryInterface, unknown>();

/** libc's `symbols`, loaded once per set; null where they cannot be loaded. */
export function openLibc<S extends Deno.ForeignLibraryInterface>(
  symbols: S,
): Deno.DynamicLibrary<S>["symbols"] | null {
  if (!loaded.has(symbols)) {
    let lib: Deno.DynamicLibrary<S>["symbols"] | null = null;
    try {
      if (Deno.build.os === "linux") lib = Deno.dlopen("libc.so.6", symbols).symbols;
    } catch {
      lib = null;
    }
    loaded.set(symbols, lib);
  }
  return loaded.get(symbols) as Deno.DynamicLibrary<S>["symbols"] | null;
}

/** The calling thread's errno, read through libc's `__errno_location` (0 where it has none). */
export function lastErrno(errnoLocation: () => Deno.PointerValue): number {
  const at = errnoLocation();
  return at === null ? 0 : new Deno.UnsafePointerView(at).getInt32();
}
