/**
 * Ctrl-C / SIGTERM handling. The first signal lets the copies in progress finish (they are
 * stopped from starting new ones), then removes every temporary file that is left and exits,
 * so an interrupted upload leaves only complete files behind. A second signal exits at once.
 */

const tempFiles = new Set<string>();
const hooks = new Set<() => Promise<void>>();
let installed = false;
let stopping = false;

function removeTempFiles(): void {
  for (const path of tempFiles) {
    try {
      Deno.removeSync(path);
    } catch {
      // already renamed into place or never created
    }
  }
}

/** Records a temporary file that must not survive an interruption. */
export function registerTempFile(path: string): void {
  tempFiles.add(path);
}

/** Forgets a temporary file once it was renamed into place or removed. */
export function unregisterTempFile(path: string): void {
  tempFiles.delete(path);
}

/** Adds work to wind down on interruption (e.g. waiting for copies in progress). */
export function addInterruptHook(hook: () => Promise<void>): void {
  hooks.add(hook);
}

/** Removes a hook added with addInterruptHook. */
export function removeInterruptHook(hook: () => Promise<void>): void {
  hooks.delete(hook);
}

/** Installs the SIGINT/SIGTERM handlers (once); `onInterrupt` runs first (e.g. clear progress). */
export function installInterruptHandlers(onInterrupt?: () => void): void {
  if (installed) return;
  installed = true;
  const handler = (code: number) => async () => {
    if (stopping) {
      removeTempFiles();
      Deno.exit(code);
    }
    stopping = true;
    onInterrupt?.();
    console.error("interrupted: finishing the files in progress (interrupt again to stop now)");
    await Promise.allSettled([...hooks].map((hook) => hook()));
    removeTempFiles();
    Deno.exit(code);
  };
  Deno.addSignalListener("SIGINT", handler(130));
  Deno.addSignalListener("SIGTERM", handler(143));
}
