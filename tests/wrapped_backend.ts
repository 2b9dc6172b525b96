/** A backend that hands every call to another: tests override what they want to observe. */
import type { Backend } from "../src/backends/backend.ts";
import { DelegatingBackend } from "../src/backends/delegating.ts";

/** Delegates everything to `inner`; subclasses override single calls. */
export class WrappedBackend extends DelegatingBackend {
  constructor(inner: Backend) {
    super(inner);
  }
}
