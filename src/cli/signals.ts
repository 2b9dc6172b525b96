/**
 * Ctrl-C and SIGTERM. The first signal stops new work (transfers in progress finish), the second
 * cuts the transfers in progress (they clean up after themselves, briefly) and the process exits
 * within HARD_STOP_MS whatever is still running, a third exits at once. The command winds down
 * on its own and the exit code says how it was stopped (130, 143).
 */

/** After the second signal, the process exits within this many ms, done or not. */
export const HARD_STOP_MS = 1900;

/** What a command learns of interruptions: two signals to obey, and the exit code they imply. */
export interface Interruption extends Disposable {
  /** Aborted at the first signal: start no further work. */
  stop: AbortSignal;
  /** Aborted at the second signal: stop the work in progress too. */
  abort: AbortSignal;
  /** 130 after SIGINT, 143 after SIGTERM, undefined if no signal came. */
  readonly exitCode: number | undefined;
  /** Calls `listener` at every signal, after `stop` or `abort` were aborted for it. */
  onSignal(listener: (signal: InterruptSignal, count: number) => void): void;
}

/** The signals that interrupt a command. */
export type InterruptSignal = "SIGINT" | "SIGTERM";

const CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Listens for SIGINT and SIGTERM until disposed. `notify` shows what happens at each signal
 * (e.g. after clearing a progress line). After the second signal, `hardStop` (if given) is
 * called when the command has not ended within HARD_STOP_MS; then the process exits.
 */
export function listenForInterrupts(
  notify: (message: string) => void,
  hardStop?: () => void,
): Interruption {
  const stop = new AbortController();
  const abort = new AbortController();
  let count = 0;
  let exitCode: number | undefined;
  const listeners: ((signal: InterruptSignal, count: number) => void)[] = [];
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
        if (hardStop) {
          const timer = setTimeout(() => {
            hardStop();
            Deno.exit(exitCode);
          }, HARD_STOP_MS);
          Deno.unrefTimer(timer);
        }
      } else {
        Deno.exit(exitCode);
      }
      for (const listener of listeners) listener(name, count);
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
    onSignal(listener) {
      listeners.push(listener);
    },
    [Symbol.dispose]() {
      for (const [name, handler] of handlers) Deno.removeSignalListener(name, handler);
    },
  };
}

/**
 * Whether this process is in the terminal's foreground process group: a Ctrl-C there reaches
 * every process of the group, children included. Read from /proc (false where it is missing).
 */
export function inForegroundGroup(): boolean {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    // After the command name in parentheses: state, ppid, pgrp, session, tty_nr, tpgid.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const [pgrp, tpgid] = [Number(fields[2]), Number(fields[5])];
    return tpgid > 0 && tpgid === pgrp;
  } catch {
    return false;
  }
}
