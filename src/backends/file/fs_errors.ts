/** Errors of local file-system calls as BackendErrors, scoped by their errno code. */
import { BackendError, type FailureScope } from "../backend.ts";

const TRANSIENT_CODES = new Set(["EAGAIN", "EBUSY", "EINTR", "ETIMEDOUT", "EMFILE", "ENFILE"]);
/** Errors that make every further write fail too. */
export const TARGET_CODES = new Set(["ENOSPC", "EROFS", "EDQUOT"]);

function scopeOf(code: string): FailureScope {
  if (TRANSIENT_CODES.has(code)) return "transient";
  return TARGET_CODES.has(code) ? "target" : "file";
}

/** The system's reason, without the call and paths Deno appends (`…: remove '/x'`). */
export function reasonOf(err: unknown): string {
  const msg = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return msg.replace(/: [a-z_]+ '.*$/, "");
}

/** A BackendError for `err`: `what` says what failed where the caller does not (or ""). */
export function wrap(err: unknown, what: string, scope?: FailureScope): BackendError {
  if (err instanceof BackendError) return err;
  const code = (err as { code?: string }).code ?? "";
  const reason = reasonOf(err);
  return new BackendError(what ? `${what}: ${reason}` : reason, scope ?? scopeOf(code), {
    cause: err,
    code,
  });
}
