/**
 * What `watch` prints: a timestamped line per uploaded artifact where no terminal shows a status
 * line (logs, CI), a live status line on a terminal, or one JSON event per line with `--json`.
 */
import type { ProxyName } from "../backends/backend.ts";
import { redactText } from "../backends/url.ts";
import type { Artifact } from "../cache/artifact.ts";
import { formatBytes, formatGb } from "../cache/units.ts";
import type { UploadPlan } from "../sync/upload.ts";
import type { FlushSummary, WatchCounts, WatchObserver } from "../sync/watch/watcher.ts";
import type { Printer, StatusDisplay } from "./command.ts";
import { jsonDocument } from "./json_doc.ts";

/** The sysctl that bounds inotify watches per user. */
const WATCH_LIMIT_SYSCTL = "fs.inotify.max_user_watches";
const INSTANCE_LIMIT_SYSCTL = "fs.inotify.max_user_instances";

/** Why watching failed, in words a user can act on. */
export function unwatchedAdvice(reason: string): string {
  if (/watch limit|os error 28|ENOSPC|no space left/i.test(reason)) {
    return `the inotify watch limit (${WATCH_LIMIT_SYSCTL}) is reached: a cache needs one watch ` +
      `per directory; raise it with 'sudo sysctl ${WATCH_LIMIT_SYSCTL}=524288'`;
  }
  if (/too many open files|os error 24|EMFILE/i.test(reason)) {
    return `the inotify instance limit (${INSTANCE_LIMIT_SYSCTL}) is reached; raise it with ` +
      `'sudo sysctl ${INSTANCE_LIMIT_SYSCTL}=1024'`;
  }
  return reason.replace(/\.? about \[.*\]$/, "");
}

const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;
const clock = (ms: number) => new Date(ms).toTimeString().slice(0, 8);

/** Turns a watch's events into output lines, JSON events and the status line. */
export class WatchReport {
  readonly started = Date.now();
  /** Whether the status line may be drawn (not while a wrapped build owns the terminal). */
  statusShown = true;
  /** The label of the status line. */
  phase = "watching";
  /** Paths whose failure was printed (later failures of the same path are details). */
  #reportedFailures = new Set<string>();
  #refreshing = false;
  /** The proxy whose outage is going on, if the outage is the proxy's. */
  #proxy?: ProxyName;

  constructor(
    readonly out: Printer,
    readonly status: StatusDisplay,
    readonly targetName: string,
    readonly counts: () => WatchCounts,
  ) {}

  /** Per-file lines: in logs, with --verbose, never in JSON mode (events there). */
  get #fileLines(): boolean {
    return !this.out.json && (!this.status.live || this.out.verbose);
  }

  /** One JSON event line (JSON mode only); URLs in it (the wrapped command's) are redacted. */
  event(name: string, fields: Record<string, unknown> = {}): void {
    if (!this.out.json) return;
    const event = JSON.stringify(
      jsonDocument({ time: new Date().toISOString(), event: name, ...fields }),
    );
    this.out.line(redactText(event));
  }

  /** An INFO line, or the JSON event in JSON mode. */
  info(text: string, name: string, fields: Record<string, unknown> = {}): void {
    this.out.info(text);
    this.event(name, fields);
  }

  #file(verb: string, a: Artifact, detail = ""): void {
    this.out.line(`${new Date().toISOString()} ${verb} ${a.path}${detail}`);
  }

  /** Redraws the status line, once the events of this turn are all counted. */
  refresh(): void {
    if (!this.statusShown || !this.status.live || this.#refreshing) return;
    this.#refreshing = true;
    setTimeout(() => {
      this.#refreshing = false;
      this.#draw();
    }, 0);
  }

  #draw(): void {
    if (!this.statusShown) return;
    const c = this.counts();
    const down = c.downSince
      ? `, ${this.#unreachable} unreachable since ${clock(c.downSince)}`
      : "";
    this.status.show(
      `${this.phase}: ${c.uploaded} uploaded (${formatBytes(c.uploadedBytes)}), ` +
        `${c.pending} pending, ${c.failing} failed${down}`,
    );
  }

  /** What is unreachable: the target, or the proxy to it. */
  get #unreachable(): string {
    return this.#proxy ? `the proxy ${this.#proxy.url} (${this.#proxy.variable})` : this.targetName;
  }

  /** The JSON fields telling what is unreachable. */
  get #unreachableFields(): Record<string, unknown> {
    return this.#proxy ? { unreachable: "proxy", proxy: this.#proxy } : { unreachable: "target" };
  }

  /** The watch's observer. */
  readonly observer: WatchObserver = {
    planned: (plan: UploadPlan) => {
      this.out.info(`uploading ${plan.missing} files (${formatGb(plan.missingBytes)} GB)`);
      this.out.info(`${plan.present} files already present on target`);
      if (plan.refresh > 0) this.out.info(`refreshing ${plan.refresh} of them (used here)`);
      if (plan.otherFiles > 0) {
        this.out.info(`skipping ${plan.otherFiles} files that are not sstate artifacts`);
      }
      this.event("planned", { ...plan });
    },
    uploaded: (a) => {
      if (this.#fileLines) this.#file("uploaded", a, ` (${formatBytes(a.size)})`);
      this.event("uploaded", { path: a.path, size: a.size });
    },
    existed: (a) => {
      if (this.#fileLines && this.out.verbose) this.#file("present", a);
      this.event("present", { path: a.path });
    },
    refreshed: (a) => {
      if (this.#fileLines && this.out.verbose) this.#file("refreshed", a);
      this.event("refreshed", { path: a.path });
    },
    failed: (a, message, retryInMs) => {
      this.event("failed", { path: a.path, error: message, retryInMs });
      const retry = retryInMs === null
        ? ""
        : retryInMs > 0
        ? `; trying again in ${seconds(retryInMs)}`
        : "; trying again";
      const line = `upload of ${a.path} failed: ${message}${retry}`;
      if (this.#reportedFailures.has(a.path) && retryInMs !== null) this.out.detail(line);
      else this.out.error(line);
      this.#reportedFailures.add(a.path);
    },
    down: (message, pending, proxy) => {
      // A proxy that cannot be reached says nothing of the target behind it.
      this.#proxy = proxy;
      this.out.warn(
        `${this.#unreachable} is unreachable (${message}); ${pending} files wait for it, ` +
          "trying again after 1s, 2s, 4s... up to every minute",
      );
      this.event("down", { error: message, pending, ...this.#unreachableFields });
    },
    stillDown: (message, downMs, pending, proxy) => {
      this.#proxy = proxy;
      // A terminal's status line shows the count live; logs get a line per failed probe.
      if (!this.status.live || this.out.json) {
        this.out.info(
          `${this.#unreachable} is still unreachable after ${seconds(downMs)}; ${pending} ` +
            "files wait for it",
        );
      }
      this.event("pending", { error: message, downMs, pending, ...this.#unreachableFields });
    },
    up: (downMs, pending) => {
      const what = this.#unreachable;
      this.#proxy = undefined;
      this.info(
        `${what} is reachable again after ${seconds(downMs)}; uploading ${pending} ` +
          "waiting files",
        "up",
        { downMs, pending },
      );
    },
    warning: (message) => {
      this.out.warn(message);
      this.event("warning", { message });
    },
    unwatched: (reason) => {
      this.out.warn(
        `cannot watch the source for changes: ${unwatchedAdvice(reason)}. New artifacts are ` +
          "found by rescanning instead, so they may take longer to be uploaded",
      );
      this.event("unwatched", { reason });
    },
    removedOrphans: (n) =>
      this.info(
        `removed ${n} temporary files left on the target by killed uploads`,
        "removedTemps",
        { count: n },
      ),
    changed: () => this.refresh(),
  };

  /** The summary after the flush. */
  summary(s: FlushSummary, exitCode: number): void {
    this.status.clear();
    const elapsed = (Date.now() - this.started) / 1000;
    this.info(
      `done: ${s.uploaded} uploaded (${formatBytes(s.uploadedBytes)}), ${s.existed} found on ` +
        `the target already, ${s.refreshed} refreshed, ${s.notUploaded} not uploaded in ` +
        `${elapsed.toFixed(1)}s`,
      "done",
      {
        uploaded: s.uploaded,
        uploadedBytes: s.uploadedBytes,
        existed: s.existed,
        refreshed: s.refreshed,
        notUploaded: s.notUploaded,
        seconds: elapsed,
        exitCode,
      },
    );
    if (s.notUploaded > 0) {
      this.out.warn(
        `${s.notUploaded} files were not uploaded; the next watch or upload of this source ` +
          "uploads them",
      );
    }
  }
}
