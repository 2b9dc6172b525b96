/**
 * The stall watchdog of a request: its timer runs while the server is to move, and every chunk
 * sent or received restarts it. A request whose timer runs out has stalled: it is aborted, and
 * the caller, asking `timedOut`, can tell a stall from its own abort.
 */

/**
 * Aborts a request when it makes no progress for `ms`: `kick` on every chunk sent or received.
 * Linked to the caller's signal, whose abort it passes on.
 */
export class Watchdog {
  readonly #ctl = new AbortController();
  readonly signal: AbortSignal;
  #timer: ReturnType<typeof setTimeout>;
  #timedOut = false;
  #disposed = false;

  /** `onTimeout` is told when the request stalls, before it is aborted. */
  constructor(
    readonly ms: number,
    readonly caller?: AbortSignal,
    readonly onTimeout?: () => void,
  ) {
    this.signal = caller ? AbortSignal.any([caller, this.#ctl.signal]) : this.#ctl.signal;
    this.#timer = this.#arm();
  }

  #arm(): ReturnType<typeof setTimeout> {
    return setTimeout(() => {
      this.onTimeout?.();
      this.#timedOut = true;
      this.#ctl.abort(new DOMException("stalled", "TimeoutError"));
    }, this.ms);
  }

  /** Progress: restarts the timer (unless the request is over). */
  kick(): void {
    clearTimeout(this.#timer);
    if (!this.#disposed) this.#timer = this.#arm();
  }

  /** Stops the timer while the caller, not the server, is busy; `kick` restarts it. */
  pause(): void {
    clearTimeout(this.#timer);
  }

  /** Whether this watchdog (not the caller) stopped the request. */
  get timedOut(): boolean {
    return this.#timedOut && !this.caller?.aborted;
  }

  [Symbol.dispose](): void {
    this.#disposed = true;
    clearTimeout(this.#timer);
  }
}
