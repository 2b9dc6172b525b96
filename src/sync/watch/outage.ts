/**
 * Remote outages for `watch`. While the target cannot be reached (a transient failure that
 * outlasted the backend's retries, or a target-wide one: no space, read-only), calls wait
 * instead of failing, and one of them probes the target again after a
 * backoff (1 s, doubling up to 60 s). The upload queue behind it never drops an artifact for an
 * outage: its puts only take longer. A target that refuses this client (wrong credentials, no
 * permission) is no outage: the call fails, and the gate says so.
 */
import {
  type Backend,
  BackendError,
  type Entry,
  type ListOptions,
} from "../../backends/backend.ts";
import { type Clock, REAL_CLOCK, type Timer } from "../../backends/clock.ts";
import { type DelegatedCall, DelegatingBackend } from "../../backends/delegating.ts";

/**
 * Whether `err` says the target as a whole is unreachable or unusable (not one file's fault),
 * for a while: a target that refuses this client (credentials, permission) is not an outage.
 */
export function isOutage(err: unknown): err is BackendError {
  return err instanceof BackendError && err.scope !== "file" && !err.denied;
}

/** Whether `err` says the target refuses this client: waiting does not help. */
export function isRefusal(err: unknown): err is BackendError {
  return err instanceof BackendError && err.denied;
}

/** How long to wait before probing a target that is down, in ms. */
export interface Backoff {
  firstDelayMs: number;
  maxDelayMs: number;
}

/** 1 s, doubling up to a minute. */
export const OUTAGE_BACKOFF: Backoff = { firstDelayMs: 1000, maxDelayMs: 60_000 };

/**
 * What a gate tells about outages: when one starts, after each failed probe, when it ends; and
 * when the target refuses this client (the call fails with that error, as every later one will).
 */
export interface OutageObserver {
  refused?(error: BackendError): void;
  down?(error: BackendError): void;
  stillDown?(error: BackendError, downMs: number): void;
  up?(downMs: number): void;
}

interface Outage {
  since: number;
  delayMs: number;
  probeAt: number;
  probing: boolean;
  error: BackendError;
}

/** Lets calls to one target through while it answers, and holds them while it is down. */
export class OutageGate {
  #outage?: Outage;
  #waiting = new Set<() => void>();
  #timer?: Timer;

  constructor(
    readonly observer: OutageObserver = {},
    readonly backoff: Backoff = OUTAGE_BACKOFF,
    readonly clock: Clock = REAL_CLOCK,
  ) {}

  /** Since when the target has been down (ms since the epoch), or undefined while it answers. */
  get downSince(): number | undefined {
    return this.#outage?.since;
  }

  /** Runs `call` once the target is reachable, again after every outage it runs into. */
  async run<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (;;) {
      const probe = await this.#admit(signal);
      try {
        const result = await call();
        this.#reachable();
        return result;
      } catch (err) {
        if (signal?.aborted) {
          this.#abandon(probe);
          throw err;
        }
        if (isRefusal(err)) {
          this.#abandon(probe);
          this.observer.refused?.(err);
          throw err;
        }
        if (!isOutage(err)) {
          this.#reachable(); // the target answered, if only for this file
          throw err;
        }
        this.#unreachable(err, probe);
      }
    }
  }

  /** Waits until a call may go; true when it is the probe of an outage. */
  async #admit(signal?: AbortSignal): Promise<boolean> {
    for (;;) {
      signal?.throwIfAborted();
      const outage = this.#outage;
      if (!outage) return false;
      if (!outage.probing && this.clock.now() >= outage.probeAt) {
        outage.probing = true;
        return true;
      }
      await this.#change(signal);
    }
  }

  /** Resolves at the next probe time or the end of the outage; rejects when `signal` aborts. */
  #change(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        this.#waiting.delete(wake);
        resolve();
      };
      const onAbort = () => {
        this.#waiting.delete(wake);
        reject(signal!.reason);
      };
      this.#waiting.add(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  #wakeAll(): void {
    for (const wake of [...this.#waiting]) wake();
  }

  #schedule(outage: Outage): void {
    this.clock.clearTimeout(this.#timer);
    this.#timer = this.clock.setTimeout(
      () => this.#wakeAll(),
      Math.max(0, outage.probeAt - this.clock.now()),
    );
  }

  #reachable(): void {
    const outage = this.#outage;
    if (!outage) return;
    this.#outage = undefined;
    this.clock.clearTimeout(this.#timer);
    this.#wakeAll();
    this.observer.up?.(this.clock.now() - outage.since);
  }

  #unreachable(error: BackendError, probe: boolean): void {
    const now = this.clock.now();
    const outage = this.#outage;
    if (!outage) {
      const { firstDelayMs } = this.backoff;
      const started = { since: now, delayMs: firstDelayMs, probeAt: now + firstDelayMs };
      this.#outage = { ...started, probing: false, error };
      this.#schedule(this.#outage);
      this.observer.down?.(error);
      return;
    }
    // Calls that were under way when the outage began fail too; only a failed probe backs off.
    if (!probe) return;
    outage.delayMs = Math.min(outage.delayMs * 2, this.backoff.maxDelayMs);
    outage.probeAt = now + outage.delayMs;
    outage.probing = false;
    outage.error = error;
    this.#schedule(outage);
    this.observer.stillDown?.(error, now - outage.since);
  }

  /** A probe was cut short: let another call probe at once. */
  #abandon(probe: boolean): void {
    const outage = this.#outage;
    if (!probe || !outage) return;
    outage.probing = false;
    outage.probeAt = this.clock.now();
    this.#wakeAll();
  }

  /** Stops the probe timer (the gate is no longer used). */
  close(): void {
    this.clock.clearTimeout(this.#timer);
  }
}

/** `inner` with every call passed through `gate`: calls wait out outages instead of failing. */
export function gated(inner: Backend, gate: OutageGate): Backend {
  return new GatedBackend(inner, gate);
}

class GatedBackend extends DelegatingBackend {
  constructor(inner: Backend, readonly gate: OutageGate) {
    super(inner);
  }

  protected override through<T>(
    _method: DelegatedCall,
    call: () => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    return this.gate.run(call, signal);
  }

  /**
   * Lists the target; a listing cut by an outage starts again once the target is back (entries
   * seen before it may then come twice).
   */
  override async *list(options?: ListOptions): AsyncIterable<Entry[]> {
    let done = false;
    let iterator: AsyncIterator<Entry[]> | undefined;
    const next = async (): Promise<Entry[]> => {
      iterator ??= this.inner.list(options)[Symbol.asyncIterator]();
      try {
        const step = await iterator.next();
        if (!step.done) return step.value;
        done = true;
        return [];
      } catch (err) {
        iterator = undefined; // start over
        throw err;
      }
    };
    while (!done) {
      const batch = await this.gate.run(next, options?.signal);
      if (batch.length > 0) yield batch;
    }
  }

  override close(): Promise<void> {
    this.gate.close();
    return this.inner.close();
  }
}
