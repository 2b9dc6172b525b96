/** Ages given on the command line (`--max-age`, `--max-sig-age`): `N[w|d|h|m|s]`. */
import { InputError } from "./input_error.ts";

const SECONDS_PER_UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** A parsed age: seconds, plus whether the unit was left out (and days assumed). */
export interface Age {
  seconds: number;
  unitless: boolean;
}

/**
 * Parses `N[w|d|h|m|s]`; no unit means days. Throws a InputError naming the option
 * (`MAX_AGE`, `MAX_SIG_AGE`) for anything else.
 */
export function parseAge(text: string, optionName: string): Age {
  const m = /^(\d+)([wdhms])?$/.exec(text);
  if (!m) {
    throw new InputError(
      `cannot parse ${optionName} '${text}', needs to be a number followed by w|d|h|m|s`,
    );
  }
  return { seconds: Number(m[1]) * SECONDS_PER_UNIT[m[2] ?? "d"], unitless: m[2] === undefined };
}

/**
 * A duration option (`--refresh-after`) in ms: `N[w|d|h|m|s]`, no unit meaning days; `0` is
 * zero. Throws an InputError naming `optionName` for anything else.
 */
export function parseDurationMs(text: string, optionName: string): number {
  return parseAge(text, optionName).seconds * 1000;
}
