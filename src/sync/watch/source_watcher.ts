/**
 * Change detection for `watch`: file system events on the source (see `TreeWatch`: never
 * through symbolic links), taken as hints. An event for an artifact's final name hands that
 * artifact on; an event for a new directory reads it (files created in it before its watch
 * existed are found that way); lost events rescan the tree. A periodic rescan is the safety net
 * for anything else. Where watching is impossible (the inotify limits, an unsupported
 * filesystem) rescans alone find new artifacts.
 */
import { type Artifact, parseArtifactName } from "../../cache/artifact.ts";
import type { ArtifactFilter } from "../../cache/filter.ts";
import { type TreeEvent, TreeWatch } from "./inotify.ts";
import { artifactsOf } from "../upload.ts";
import type { WalkedDirectory } from "../../cache/local_cache.ts";
import type { SourceTree } from "./source_tree.ts";

/** What a source watcher reports. */
export interface SourceEvents {
  /** Artifacts (passing the filter) that may be new: seen in an event or a rescan. */
  found(artifacts: Artifact[]): void;
  /** Part of the source could not be read (again at every rescan). */
  warning(message: string): void;
  /** Changes cannot be watched (why); rescans alone find new artifacts from now on. */
  unwatched(reason: string): void;
}

/** What to watch, and how often to rescan. */
export interface SourceWatchSettings {
  source: SourceTree;
  filter?: ArtifactFilter;
  /** Time between periodic rescans while events arrive, in ms. */
  rescanIntervalMs: number;
}

/** Without events, rescans take at most this share of the time... */
const FALLBACK_DUTY = 20;
/** ...and come at most this often, in ms. */
const FALLBACK_MIN_INTERVAL_MS = 2000;
/** When a new directory is read again, in ms after it was first read. */
const NEW_DIR_RECHECK_MS = 1000;
/** How long a rescan may keep the event loop before letting uploads and events in, in ms. */
const SLICE_MS = 5;

/**
 * A pause for other work in the middle of a rescan. A timer, not a message to oneself: messages
 * are handled before the file system events, which would then pile up and be dropped.
 */
const yieldToEvents = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Watches a source for new artifacts. */
export class SourceWatcher {
  #fs?: TreeWatch;
  #watching = false;
  #closed = false;
  #timer?: ReturnType<typeof setTimeout>;
  #rescan?: Promise<void>;
  #rescanAgain = false;
  #lastRescanMs = 0;
  #newDirs = new Set<string>();

  constructor(readonly settings: SourceWatchSettings, readonly events: SourceEvents) {}

  /** Whether file system events arrive (false: rescans only). */
  get watching(): boolean {
    return this.#watching;
  }

  /**
   * Starts watching (synchronously: from its return on, every change is seen or caught by a
   * rescan) and schedules the periodic rescans.
   */
  start(): void {
    try {
      this.#fs = TreeWatch.open(this.settings.source.root, {
        changed: (events) => this.#onEvents(events),
        overflow: () => this.#requestRescan(),
        failed: (err) => {
          if (!this.#closed) this.#unwatched(err);
        },
      });
      this.#watching = true;
    } catch (err) {
      this.#unwatched(err);
    }
    this.#schedule();
  }

  /** Rescans now (or waits for the rescan under way, then rescans again). */
  async rescanNow(): Promise<void> {
    if (!this.#rescan) return this.#startRescan();
    this.#rescanAgain = true; // the one that follows sees every change made before this call
    while (this.#rescan) await this.#rescan;
  }

  /** Stops watching and rescanning. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#fs?.close();
    this.#fs = undefined;
    this.#watching = false;
  }

  #unwatched(err: unknown): void {
    this.#fs?.close();
    this.#fs = undefined;
    this.#watching = false;
    this.events.unwatched(err instanceof Error ? err.message.split("\n")[0] : String(err));
    this.#schedule();
  }

  #onEvents(events: readonly TreeEvent[]): void {
    const artifacts: Artifact[] = [];
    for (const { path, directory } of events) {
      const name = directory ? null : parseArtifactName(path);
      if (name) {
        if (!this.settings.filter || this.settings.filter(name)) {
          artifacts.push({ path, size: 0, mtime: 0, ...name });
        }
      } else if (directory) this.#maybeNewDir(path); // also a directory made readable
    }
    if (artifacts.length > 0) this.events.found(artifacts);
  }

  /**
   * Reads a directory that appeared, soon (once per burst: a parent read covers its children),
   * and once more a second later: the watch of a new directory is added only after its event is
   * delivered, so a file created in between has no event and may come after the first read.
   */
  #maybeNewDir(rel: string): void {
    try {
      if (!Deno.lstatSync(`${this.settings.source.root}/${rel}`).isDirectory) return;
    } catch {
      return;
    }
    if (this.#newDirs.size === 0) {
      setTimeout(() => {
        const again = new Set(this.#readDirs(this.#newDirs));
        if (again.size > 0) setTimeout(() => this.#readDirs(again), NEW_DIR_RECHECK_MS);
      }, 0);
    }
    this.#newDirs.add(rel);
  }

  /** Reads the directories of `set` (and below), empties it; returns those read. */
  #readDirs(set: Set<string>): string[] {
    const dirs: string[] = [];
    for (const dir of [...set].sort()) {
      if (this.#closed || dirs.length > 0 && dir.startsWith(`${dirs.at(-1)}/`)) continue;
      dirs.push(dir);
      this.#report(this.settings.source.walk({
        from: dir,
        metadata: false,
        onWarning: (m) => this.#warn(m),
      }));
    }
    set.clear();
    return dirs;
  }

  #report(dirs: Iterable<WalkedDirectory>): void {
    for (const { files } of dirs) this.#foundIn(files);
  }

  #foundIn(files: WalkedDirectory["files"]): void {
    const { artifacts } = artifactsOf(files, this.settings.filter);
    if (artifacts.length > 0) this.events.found(artifacts);
  }

  #warn(message: string): void {
    this.events.warning(message);
  }

  #requestRescan(): void {
    if (this.#rescan) this.#rescanAgain = true;
    else this.#startRescan();
  }

  #startRescan(): Promise<void> {
    clearTimeout(this.#timer);
    this.#rescan = this.#runRescan().finally(() => {
      this.#rescan = undefined;
      if (this.#rescanAgain && !this.#closed) {
        this.#rescanAgain = false;
        this.#startRescan();
      } else this.#schedule();
    });
    return this.#rescan;
  }

  /** One rescan, in slices so that uploads and events go on meanwhile. */
  async #runRescan(): Promise<void> {
    const started = performance.now();
    let slice = started;
    try {
      for (const { files } of this.settings.source.rescan((m) => this.#warn(m))) {
        this.#foundIn(files);
        if (performance.now() - slice > SLICE_MS) {
          await yieldToEvents();
          slice = performance.now();
        }
      }
    } catch (err) {
      this.#warn(`cannot rescan the source: ${err instanceof Error ? err.message : err}`);
    }
    this.#lastRescanMs = performance.now() - started;
  }

  /** Sets the timer of the next periodic rescan (more often while no events arrive). */
  #schedule(): void {
    if (this.#closed || this.#rescan) return;
    clearTimeout(this.#timer);
    const { rescanIntervalMs } = this.settings;
    const interval = this.#watching ? rescanIntervalMs : Math.min(
      rescanIntervalMs,
      Math.max(FALLBACK_MIN_INTERVAL_MS, FALLBACK_DUTY * this.#lastRescanMs),
    );
    this.#timer = setTimeout(() => this.#startRescan(), interval);
  }
}
