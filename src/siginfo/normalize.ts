/** Turns a decoded signature dictionary (from JSON or a pickle) into a checked `SigInfo`. */

import { SiginfoError } from "./error.ts";
import { pythonSort } from "./hash.ts";
import type { SigInfo, SiginfoFormat } from "./types.ts";

type Dict = Map<unknown, unknown> | Record<string, unknown>;

function isDict(value: unknown): value is Dict {
  if (value instanceof Map) return true;
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Set) && !("_set_object" in value);
}

function dictEntries(value: Dict): [unknown, unknown][] {
  return value instanceof Map ? [...value] : Object.entries(value);
}

/** Python `str()` of a scalar found where bitbake expects a str (values are normally str). */
function pyStr(value: unknown): string {
  if (typeof value === "boolean") return value ? "True" : "False";
  return String(value);
}

/** Reads the fields of one decoded signature dictionary, naming the file in any error. */
class FieldReader {
  readonly #fields: Map<string, unknown>;

  constructor(readonly file: string, top: unknown) {
    if (!isDict(top)) throw this.error("not a signature file (no dictionary inside)");
    this.#fields = new Map();
    for (const [key, value] of dictEntries(top)) this.#fields.set(String(key), value);
  }

  error(problem: string): SiginfoError {
    return new SiginfoError(this.file, problem);
  }

  has(key: string): boolean {
    return this.#fields.has(key);
  }

  /** The raw value; `required` fields must be present, others may be missing or None. */
  #get(key: string, required: boolean): unknown {
    if (!this.#fields.has(key)) {
      if (required) throw this.error(`not a signature file (no '${key}' field)`);
      return undefined;
    }
    return this.#fields.get(key) ?? undefined;
  }

  #string(key: string, value: unknown, what = `field '${key}'`): string {
    if (typeof value !== "string") throw this.error(`${what} is not a string`);
    return value;
  }

  #stringArray(key: string, value: unknown, what: string): string[] {
    if (Array.isArray(value)) {
      return value.map((item) => this.#string(key, item, `an item of ${what}`));
    }
    throw this.error(`${what} is not a list`);
  }

  #dict(key: string, value: unknown): [string, unknown][] {
    if (!isDict(value)) throw this.error(`field '${key}' is not a dictionary`);
    return dictEntries(value).map(([k, v]) => [this.#string(key, k, `a key of '${key}'`), v]);
  }

  /** A Python set: a JS Set (pickle), `{"_set_object": [...]}` (JSON) or, leniently, a list. */
  #set(key: string, value: unknown, what: string): Set<string> {
    let items = value;
    if (value instanceof Set) items = [...value];
    else if (typeof value === "object" && value !== null && "_set_object" in value) {
      items = value._set_object;
    }
    if (!Array.isArray(items)) throw this.error(`${what} is not a set`);
    return new Set(this.#stringArray(key, items, what));
  }

  string(key: string): string {
    return this.#string(key, this.#get(key, true));
  }

  optionalString(key: string): string | undefined {
    const value = this.#get(key, false);
    return value === undefined ? undefined : this.#string(key, value);
  }

  /** A list, or a set (bitbake 2.x stores `taskdeps` as one), which is returned sorted. */
  listOrSet(key: string): string[] {
    const value = this.#get(key, true);
    if (Array.isArray(value)) return this.#stringArray(key, value, `field '${key}'`);
    return pythonSort(this.#set(key, value, `field '${key}'`));
  }

  optionalStringList(key: string): string[] | undefined {
    const value = this.#get(key, false);
    return value === undefined ? undefined : this.#stringArray(key, value, `field '${key}'`);
  }

  set(key: string): Set<string> {
    return this.#set(key, this.#get(key, true), `field '${key}'`);
  }

  setDict(key: string): Record<string, Set<string>> {
    const entries = this.#dict(key, this.#get(key, true));
    return Object.fromEntries(entries.map(([k, v]) => [k, this.#set(key, v, `'${key}' of ${k}`)]));
  }

  valueDict(key: string): Record<string, string | null> {
    return Object.fromEntries(
      this.#dict(key, this.#get(key, true)).map(([k, v]) => [k, v == null ? null : pyStr(v)]),
    );
  }

  optionalStringDict(key: string): Record<string, string> | undefined {
    const value = this.#get(key, false);
    if (value === undefined) return undefined;
    return Object.fromEntries(
      this.#dict(key, value).map(([k, v]) => [k, this.#string(key, v, `'${key}' of ${k}`)]),
    );
  }

  /** List of (path, checksum) pairs; very old files stored a {path: checksum} dictionary. */
  optionalChecksums(key: string): [string, string | null][] | undefined {
    const value = this.#get(key, false);
    if (value === undefined) return undefined;
    if (isDict(value)) {
      return this.#dict(key, value).map(([path, cs]) => [
        path.slice(path.lastIndexOf("/") + 1),
        cs == null ? null : this.#string(key, cs, `a checksum in '${key}'`),
      ]);
    }
    if (!Array.isArray(value)) throw this.error(`field '${key}' is not a list`);
    return value.map((pair) => {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw this.error(`an item of '${key}' is not a (path, checksum) pair`);
      }
      const cs = pair[1] == null ? null : this.#string(key, pair[1], `a checksum in '${key}'`);
      return [this.#string(key, pair[0], `a path in '${key}'`), cs];
    });
  }
}

/** Checks the decoded dictionary `top` of file `file` and maps old key names to the new ones. */
export function toSigInfo(top: unknown, format: SiginfoFormat, file: string): SigInfo {
  const r = new FieldReader(file, top);
  const legacy = !r.has("basehash_ignore_vars") && r.has("basewhitelist");
  const ignoreTasks = r.optionalString(legacy ? "taskwhitelist" : "taskhash_ignore_tasks");
  const sig: SigInfo = {
    format,
    legacy_names: legacy,
    basehash_ignore_vars: r.set(legacy ? "basewhitelist" : "basehash_ignore_vars"),
    taskhash_ignore_tasks: ignoreTasks ?? null,
    taskdeps: r.listOrSet("taskdeps"),
    basehash: r.string("basehash"),
    gendeps: r.setDict("gendeps"),
    varvals: r.valueDict("varvals"),
  };
  const optional = {
    task: r.optionalString("task"),
    runtaskdeps: r.optionalStringList("runtaskdeps"),
    file_checksum_values: r.optionalChecksums("file_checksum_values"),
    runtaskhashes: r.optionalStringDict("runtaskhashes"),
    taskhash: r.optionalString("taskhash"),
    unihash: r.optionalString("unihash"),
    taint: r.optionalString("taint"),
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) Object.assign(sig, { [key]: value });
  }
  return sig;
}
