/**
 * Letting other work run in the middle of a long synchronous stretch (a walk of a large tree):
 * replies of the copy workers and network responses are handled between two directories.
 */

/**
 * A way to pause for one turn of the event loop. A message to oneself takes some 10 µs, where
 * `setTimeout(0)` is clamped to milliseconds. Close it when done.
 */
export class EventLoopTurn implements Disposable {
  #channel = new MessageChannel();
  #wake: (() => void) | undefined;

  constructor() {
    this.#channel.port1.onmessage = () => this.#wake?.();
  }

  /** Resolves after the other work that is ready now has had its turn. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#channel.port2.postMessage(null);
    });
  }

  [Symbol.dispose](): void {
    this.#channel.port1.close();
    this.#channel.port2.close();
  }
}
