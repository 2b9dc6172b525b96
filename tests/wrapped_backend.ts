/** A backend that hands every call to another: tests override what they want to observe. */
import type {
  Backend,
  CallOptions,
  Entry,
  ListOptions,
  PutOptions,
  PutResult,
  PutSource,
} from "../src/backends/backend.ts";

/** Delegates everything to `inner`; subclasses override single calls. */
export class WrappedBackend implements Backend {
  constructor(readonly inner: Backend) {}
  get displayUrl(): string {
    return this.inner.displayUrl;
  }
  get features() {
    return this.inner.features;
  }
  get defaultJobs(): number {
    return this.inner.defaultJobs;
  }
  exists(o?: CallOptions): Promise<boolean> {
    return this.inner.exists(o);
  }
  create(o?: CallOptions): Promise<void> {
    return this.inner.create(o);
  }
  list(o?: ListOptions): AsyncIterable<Entry[]> {
    return this.inner.list(o);
  }
  stat(path: string, o?: CallOptions): Promise<Entry | null> {
    return this.inner.stat(path, o);
  }
  put(path: string, source: PutSource, o?: PutOptions): Promise<PutResult> {
    return this.inner.put(path, source, o);
  }
  read(path: string, o?: CallOptions): Promise<Uint8Array | null> {
    return this.inner.read(path, o);
  }
  delete(path: string, o?: CallOptions): Promise<void> {
    return this.inner.delete(path, o);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
