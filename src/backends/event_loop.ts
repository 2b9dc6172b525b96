/**
 * Letting other work run in the middle of a long synchronous stretch (a walk of a large tree):
 * replies of the copy workers and network responses are handled between two directories.
 */

/**
 * Resolves after a turn of the event loop in which the other work that is ready (worker
 * replies, finished I/O) was handled. An asynchronous file-system call does that in about
 * 0.1 ms; a message to oneself would be handled before everything else, and `setTimeout(0)`
 * waits milliseconds.
 */
export async function letOthersRun(): Promise<void> {
  await Deno.stat("/").catch(() => {});
}
