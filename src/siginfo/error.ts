/** The error thrown for a signature file that cannot be read or understood. */

/** A truncated, corrupt, unreadable or foreign signature file; the message is one line. */
export class SiginfoError extends Error {
  /** `file` names the signature file, `problem` says what is wrong with it. */
  constructor(readonly file: string, problem: string, options?: ErrorOptions) {
    super(`${file}: ${problem.replace(/\s+/g, " ").trim()}`, options);
    this.name = "SiginfoError";
  }
}
