/**
 * Ctrl-C and SIGTERM. The first signal stops new work (transfers in progress finish), the second
 * cuts the transfers in progress (they clean up after themselves), a third exits at once. The
 * command winds down on its own and the exit code says how it was stopped (130, 143).
 */

/** What a command learns of interruptions: two signals to obey, and the exit code they imply. */
export interface Interruption extends Disposable {
  /** Aborted at the first signal: start no further work. */
  stop: AbortSignal;
  /** Aborted at the second signal: stop the work in progress too. */
  abort: AbortSignal;
  /** 130 after SIGINT, 143 after SIGTERM, undefined if no signal came. */
  readonly exitCode: number | undefined;
}

const CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Listens for SIGINT and SIGTERM until disposed. `notify` shows what happens at each signal
 * (e.g. after clearing a progress line).
 */
export function listenForInterrupts(notify: (message: string) => void): Interruption {
  const stop = new AbortController();
  const abort = new AbortController();
  let count = 0;
  let exitCode: number | undefined;
  const handlers = (Object.keys(CODES) as (keyof typeof CODES)[]).map((name) => {
    const handler = () => {
      exitCode ??= CODES[name];
      count++;
      if (count === 1) {
        notify("interrupted: finishing the work in progress (interrupt again to stop now)");
        stop.abort(new DOMException(`${name} received`, "AbortError"));
      } else if (count === 2) {
        notify("interrupted again: stopping now");
        abort.abort(new DOMException(`${name} received`, "AbortError"));
      } else {
        Deno.exit(exitCode);
      }
    };
    Deno.addSignalListener(name, handler);
    return [name, handler] as const;
  });
  // The hard stop implies the soft one.
  abort.signal.addEventListener("abort", () => stop.abort(abort.signal.reason), { once: true });
  return {
    stop: stop.signal,
    abort: abort.signal,
    get exitCode() {
      return exitCode;
    },
    [Symbol.dispose]() {
      for (const [name, handler] of handlers) Deno.removeSignalListener(name, handler);
    },
  };
}
