/** Invalid values given for cache selections and ages (`--filter`, `--max-age`, …). */

/** A value the user gave that cannot be used; the message names the option and the value. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}
