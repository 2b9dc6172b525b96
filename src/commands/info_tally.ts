/**
 * The totals `info` prints, gathered while the listing streams by: per file only its size and
 * last use in typed arrays (for the spans of last use, which are taken at the end), per recipe a
 * few bits and counts for `-v`; every string kept (arch, task, recipe) is interned.
 */
import { type Artifact, artifactKind, lastUseOf } from "../cache/artifact.ts";
import { Column } from "../cache/column.ts";
import { Interner } from "../cache/interner.ts";

/** Files and bytes. */
export interface Tally {
  files: number;
  bytes: number;
}

/** The task whose artifacts make a recipe a package, a rootfs or a bootstrap. */
export const KEY_TASKS = {
  deb: "dpkg_build",
  rootfs: "rootfs_install",
  bootstrap: "bootstrap",
} as const;
export type Kind = keyof typeof KEY_TASKS;
const KINDS = Object.keys(KEY_TASKS) as Kind[];

const DAY_MS = 86_400_000;
/** The spans of last use: last used at most this long before now (the last one: any time). */
export const LAST_USE_SPANS = [
  ["day", "within 1 day", DAY_MS],
  ["week", "1 day to 1 week ago", 7 * DAY_MS],
  ["fourWeeks", "1 to 4 weeks ago", 28 * DAY_MS],
  ["earlier", "earlier", Infinity],
] as const;
export type Span = typeof LAST_USE_SPANS[number][0];

/** Tallies by a key (interned: a listing's strings are not kept), sorted by key at the end. */
class TallyMap {
  #interner = new Interner();
  #tallies: Tally[] = [];

  add(key: string, bytes: number): void {
    const id = this.#interner.id(key);
    const t = this.#tallies[id] ??= { files: 0, bytes: 0 };
    t.files++;
    t.bytes += bytes;
  }

  /** The tallies by key, in key order. */
  sorted(): Record<string, Tally> {
    const entries = this.#tallies.map((t, id) => [this.#interner.text(id), t] as const);
    return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  /** The keys, in key order. */
  keys(): string[] {
    return Object.keys(this.sorted());
  }
}

/** What `info` reports of a cache, gathered batch by batch (see `add`). */
export class InfoTally {
  files = 0;
  bytes = 0;
  /** Earliest and latest modification time (ms). */
  oldest = Infinity;
  newest = -Infinity;
  readonly archs = new TallyMap();
  readonly tasks = new TallyMap();
  readonly suffixes = new TallyMap();
  readonly kinds = new TallyMap();
  /** Per file, where the spans of last use are asked for. */
  #lastUses: Column | null;
  #sizes: Column | null;
  /** Per recipe, where `-v` is asked for: which key tasks it has, and their archives. */
  #recipes: Interner | null;
  #keyTasks = new Column(Uint8Array);
  #keyArchives = KINDS.map(() => new Column(Float64Array));

  /** `lastUses`: keep what the spans of last use need; `details`: what `-v` prints. */
  constructor(lastUses: boolean, details: boolean) {
    this.#lastUses = lastUses ? new Column(Float64Array) : null;
    this.#sizes = lastUses ? new Column(Float64Array) : null;
    this.#recipes = details ? new Interner() : null;
  }

  /** Counts a batch of artifacts (none of them is kept). */
  add(artifacts: readonly Artifact[]): void {
    for (const a of artifacts) {
      const kind = artifactKind(a.suffix);
      if (this.#lastUses) {
        this.#lastUses.set(this.files, lastUseOf(a));
        this.#sizes!.set(this.files, a.size);
      }
      this.files++;
      this.bytes += a.size;
      if (a.mtime < this.oldest) this.oldest = a.mtime;
      if (a.mtime > this.newest) this.newest = a.mtime;
      this.archs.add(a.arch, a.size);
      this.tasks.add(a.task, a.size);
      this.suffixes.add(a.suffix, a.size);
      this.kinds.add(kind, a.size);
      if (this.#recipes) {
        const recipe = this.#recipes.id(a.pn);
        const key = KINDS.findIndex((k) => KEY_TASKS[k] === a.task);
        this.#keyTasks.set(recipe, this.#keyTasks.get(recipe) | (key < 0 ? 0 : 1 << key));
        if (key >= 0 && kind === "archive") {
          this.#keyArchives[key].set(recipe, this.#keyArchives[key].get(recipe) + 1);
        }
      }
    }
  }

  /** The files and bytes by last use in disjoint spans before `now` (needs `lastUses`). */
  lastUseTallies(now: number): Record<Span, Tally> {
    const tallies = Object.fromEntries(
      LAST_USE_SPANS.map(([name]) => [name, { files: 0, bytes: 0 }]),
    ) as Record<Span, Tally>;
    for (let i = 0; i < this.files; i++) {
      const ago = now - this.#lastUses!.get(i);
      const [name] = LAST_USE_SPANS.find(([, , max]) => ago <= max)!;
      tallies[name].files++;
      tallies[name].bytes += this.#sizes!.get(i);
    }
    return tallies;
  }

  /** The recipes (needs `details`), sorted, each with the key tasks it has and their archives. */
  *recipes(): Generator<{ pn: string; kinds: Kind[]; archives: Record<Kind, number> }> {
    const recipes = this.#recipes!;
    const ids = Array.from({ length: recipes.count }, (_, id) => id);
    ids.sort((a, b) => (recipes.text(a) < recipes.text(b) ? -1 : 1));
    for (const id of ids) {
      const bits = this.#keyTasks.get(id);
      yield {
        pn: recipes.text(id),
        kinds: KINDS.filter((_, k) => bits & (1 << k)),
        archives: Object.fromEntries(
          KINDS.map((k, i) => [k, this.#keyArchives[i].get(id)]),
        ) as Record<Kind, number>,
      };
    }
  }
}
