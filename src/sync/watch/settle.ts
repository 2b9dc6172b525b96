/**
 * Settling for `watch`: a new artifact is handed on only once it has stopped changing (its size
 * and modification time unchanged for the settle time), so a file that some tool writes in place
 * is never uploaded half-written. Bitbake's archives appear complete (hard-linked from a
 * temporary name), but bitbake writes an archive's siginfo just after it: a young archive waits
 * briefly for its siginfo, so that the two go out together, siginfo first.
 */
import { type Clock, REAL_CLOCK, type Timer } from "../../backends/clock.ts";
import { archivePathOf, type Artifact, artifactKind } from "../../cache/artifact.ts";

/** How long a young archive waits for its siginfo to appear, in ms. */
export const SIGINFO_WAIT_MS = 2000;

/** Where a settler reads files and what it may skip. */
export interface SettleSettings {
  /** Absolute path of the source cache. */
  root: string;
  /** How long a file must stay unchanged, in ms. */
  settleMs: number;
  /** Paths that need no settling (the target has them, or they are on their way). */
  isKnown(path: string): boolean;
  /** Receives settled artifacts, each archive after its siginfo and signature. */
  ready(artifacts: Artifact[]): void;
}

interface Candidate {
  artifact: Artifact;
  size: number;
  mtime: number;
  /** When this size and mtime were first seen. */
  seenAt: number;
  /** When to look at it next (it is not read before). */
  due: number;
}

/** Shortest gap between two checks, so a burst of new files is handled in a few rounds. */
const MIN_CHECK_GAP_MS = 20;

/** Artifacts waiting to stop changing. */
export class Settler {
  #candidates = new Map<string, Candidate>();
  #timer?: Timer;
  #timerAt = Infinity;
  #idle: (() => void)[] = [];

  constructor(readonly settings: SettleSettings, readonly clock: Clock = REAL_CLOCK) {}

  /** Artifacts waiting. */
  get size(): number {
    return this.#candidates.size;
  }

  /** Takes new artifacts (those known or waiting already are ignored); one stat each. */
  add(artifacts: readonly Artifact[]): void {
    const now = this.clock.now();
    let next = Infinity;
    for (const artifact of artifacts) {
      if (this.#candidates.has(artifact.path) || this.settings.isKnown(artifact.path)) continue;
      const info = this.#stat(artifact.path);
      if (!info) continue;
      const c: Candidate = { artifact, ...info, seenAt: now, due: 0 };
      c.due = this.#settledAt(c);
      this.#candidates.set(artifact.path, c);
      next = Math.min(next, c.due);
      // An archive waiting for this siginfo or signature is looked at together with it.
      const archive = artifactKind(artifact.suffix) === "archive"
        ? undefined
        : this.#candidates.get(archivePathOf(artifact));
      if (archive) archive.due = Math.min(archive.due, c.due);
    }
    this.#arm(next);
  }

  /** Resolves once no artifact is waiting. */
  idle(): Promise<void> {
    if (this.#candidates.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Stops the timer; waiting artifacts stay where they are. */
  close(): void {
    this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #stat(path: string): { size: number; mtime: number } | null {
    try {
      const info = Deno.statSync(`${this.settings.root}/${path}`);
      return info.isFile ? { size: info.size, mtime: info.mtime?.getTime() ?? 0 } : null;
    } catch {
      return null; // gone again
    }
  }

  /** Unchanged for settleMs from then on: by its own mtime, or by what was seen here. */
  #settledAt(c: Candidate): number {
    return Math.min(c.mtime, c.seenAt) + this.settings.settleMs;
  }

  /** Hands on what has settled and sets the timer for the rest; reads only what is due. */
  #check(): void {
    const now = this.clock.now();
    const { isKnown } = this.settings;
    const settled = new Map<string, Candidate>();
    let next = Infinity;
    for (const [path, c] of this.#candidates) {
      if (c.due > now) {
        next = Math.min(next, c.due);
        continue;
      }
      const info = isKnown(path) ? null : this.#stat(path);
      if (!info) {
        this.#candidates.delete(path);
        continue;
      }
      if (info.size !== c.size || info.mtime !== c.mtime) {
        Object.assign(c, info, { seenAt: now });
      }
      c.due = this.#settledAt(c);
      if (c.due <= now) settled.set(path, c);
      else next = Math.min(next, c.due);
    }
    const batch: Artifact[] = [];
    for (const [path, c] of settled) {
      const waitUntil = this.#waitFor(c, settled, now);
      if (waitUntil > now) {
        c.due = waitUntil;
        next = Math.min(next, waitUntil);
        continue;
      }
      this.#candidates.delete(path);
      c.artifact.size = c.size;
      batch.push(c.artifact);
    }
    if (batch.length > 0) {
      const metadataFirst = (a: Artifact) => artifactKind(a.suffix) === "archive" ? 1 : 0;
      this.settings.ready(batch.sort((a, b) => metadataFirst(a) - metadataFirst(b)));
    }
    this.#arm(next);
    if (this.#candidates.size === 0) this.#idle.splice(0).forEach((resolve) => resolve());
  }

  /**
   * Until when a settled archive should wait (0: not at all): while its siginfo or signature is
   * still settling, or, for a young archive, while its siginfo has not appeared yet. A companion
   * that exists but was not seen yet is taken in.
   */
  #waitFor(c: Candidate, settled: Map<string, Candidate>, now: number): number {
    const { artifact } = c;
    if (artifactKind(artifact.suffix) !== "archive") return 0;
    let until = 0;
    for (const suffix of [".siginfo", ".sig"]) {
      const path = artifact.path + suffix;
      if (settled.has(path) || this.settings.isKnown(path)) continue;
      const settling = this.#candidates.get(path);
      if (settling) return Math.max(settling.due, now + 1); // looked at together
      const info = this.#stat(path);
      if (info) {
        const companion = { ...artifact, path, suffix: `${artifact.suffix}${suffix}` };
        const c: Candidate = { artifact: companion as Artifact, ...info, seenAt: now, due: 0 };
        c.due = this.#settledAt(c);
        this.#candidates.set(path, c);
        return Math.max(c.due, now + 1); // looked at together at the next round
      }
      if (suffix === ".siginfo") until = Math.min(c.mtime, c.seenAt) + SIGINFO_WAIT_MS;
    }
    return until;
  }

  #arm(at: number): void {
    if (at === Infinity) return;
    const when = Math.max(at, this.clock.now() + MIN_CHECK_GAP_MS);
    if (this.#timer !== undefined && this.#timerAt <= when) return;
    this.clock.clearTimeout(this.#timer);
    this.#timerAt = when;
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#check();
    }, when - this.clock.now());
  }
}
