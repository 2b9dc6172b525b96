/** The ANSI colours bitbake's signature comparison uses (`init_colors`). */

/** Escape sequences for titles, normal text, additions and removals; all empty without colour. */
export interface Colors {
  title: string;
  reset: string;
  add: string;
  remove: string;
}

/** Bitbake's colours when `enabled`, otherwise empty strings. */
export function colors(enabled: boolean): Colors {
  if (!enabled) return { title: "", reset: "", add: "", remove: "" };
  return { title: "\x1b[1m", reset: "\x1b[0m", add: "\x1b[0;32m", remove: "\x1b[0;31m" };
}
