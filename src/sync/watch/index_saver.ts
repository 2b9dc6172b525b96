/**
 * Saving a watch's index of the target (`--index-file`), so that a restart can upload at once
 * while its own listing runs: once this run's listing is done, a while after uploads (those
 * meanwhile are saved with them), and at the end; only when it grew since the last save.
 */
import { describeError } from "../../backends/backend.ts";
import type { RemoteIndex } from "../remote_index.ts";

/** How long after an upload the index is saved, in ms. */
const SAVE_DELAY_MS = 15_000;

/** Saves one index to one file (none: saves nothing). */
export class IndexSaver {
  #listed = false;
  #savedSize = -1;
  #timer?: ReturnType<typeof setTimeout>;

  /** `warn` is told when the index cannot be saved. */
  constructor(
    readonly index: RemoteIndex,
    readonly file: string | undefined,
    readonly warn: (message: string) => void,
  ) {}

  /** This run's listing is complete: the index is worth saving from now on. */
  listed(): void {
    this.#listed = true;
  }

  /** Saves the index a while after an upload, not at every one. */
  schedule(): void {
    if (this.#timer !== undefined || !this.file) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.save();
    }, SAVE_DELAY_MS);
  }

  /** Saves the index if the listing is done and it grew since; warns if it cannot. */
  async save(): Promise<void> {
    const { file, index } = this;
    if (!file || !this.#listed || index.size === this.#savedSize) return;
    try {
      await Deno.mkdir(file.slice(0, file.lastIndexOf("/")) || "/", { recursive: true });
      await index.save(file);
      this.#savedSize = index.size;
    } catch (err) {
      this.warn(`cannot save the index to ${file}: ${describeError(err)}`);
    }
  }

  /** Stops the timer (a last `save` still saves). */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
