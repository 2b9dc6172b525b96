/** Decoding of the Python pickles bitbake <= 1.52 wrote as signature files. */

import { Parser } from "pickleparser";

// Sets become JS Sets and dicts become Maps, so set-valued fields are recognisable and the
// dictionaries keep the order Python stored them in (bitbake 1.50's dump prints that order).
const parser = new Parser({ unpicklingTypeOfSet: "Set", unpicklingTypeOfDictionary: "Map" });

/** The object a pickle holds (dicts as `Map`, sets as `Set`, lists and tuples as arrays). */
export function unpickle(bytes: Uint8Array): unknown {
  return parser.parse(bytes);
}
