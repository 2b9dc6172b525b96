/**
 * Stalled requests: how long a remote request may go without a byte before it counts as stalled
 * (and is tried again), and telling the user about stalls while they happen, not only when a run
 * finally gives up.
 */
import { BackendError } from "../backend.ts";

/** Default: a request with no byte sent or received for this long has stalled. */
export const DEFAULT_STALL_TIMEOUT_MS = 60_000;

/**
 * The tuning knob for the stall timeout: seconds (a decimal number above 0). Meant for tests and
 * for links where 60 s without a byte is normal; documented in the README.
 */
export const STALL_TIMEOUT_VAR = "ISAR_SSTATE_STALL_TIMEOUT";

/** The stall timeout in ms that `env` asks for (ISAR_SSTATE_STALL_TIMEOUT), else the default. */
export function stallTimeoutMs(env: Record<string, string | undefined>): number {
  const raw = env[STALL_TIMEOUT_VAR]?.trim();
  if (!raw) return DEFAULT_STALL_TIMEOUT_MS;
  const seconds = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !(seconds > 0) || seconds > 86_400) {
    throw new BackendError(
      `${STALL_TIMEOUT_VAR} must be a number of seconds above 0 (at most 86400), not '${raw}'`,
      "target",
    );
  }
  return Math.round(seconds * 1000);
}

/** Told about a stall (a one-line message, without a level prefix). */
export type StallListener = (message: string) => void;

/**
 * A reporter of stalls that passes at most one message per `intervalMs` on to `listener`: when
 * a server hangs, all requests in flight stall at about the same moment.
 */
export function stallReporter(
  listener: StallListener | undefined,
  intervalMs: number,
): (message: string) => void {
  let last = -Infinity;
  return (message) => {
    if (!listener) return;
    const now = performance.now();
    if (now - last < intervalMs) return;
    last = now;
    listener(message);
  };
}
