/**
 * Ctrl-C / SIGTERM handling: temporary files still being written are removed before the
 * process exits, so an interrupted upload leaves nothing half-written behind.
 */

const tempFiles = new Set<string>();
let installed = false;

function cleanupAndExit(code: number): never {
  for (const path of tempFiles) {
    try {
      Deno.removeSync(path);
    } catch {
      // already renamed into place or never created
    }
  }
  Deno.exit(code);
}

/** Records a temporary file that must not survive an interruption. */
export function registerTempFile(path: string): void {
  tempFiles.add(path);
}

/** Forgets a temporary file once it was renamed into place or removed. */
export function unregisterTempFile(path: string): void {
  tempFiles.delete(path);
}

/** Installs the SIGINT/SIGTERM handlers (once). */
export function installInterruptHandlers(onInterrupt?: () => void): void {
  if (installed) return;
  installed = true;
  const handler = (code: number) => () => {
    onInterrupt?.();
    cleanupAndExit(code);
  };
  Deno.addSignalListener("SIGINT", handler(130));
  Deno.addSignalListener("SIGTERM", handler(143));
}
