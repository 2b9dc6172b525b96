/** The body of a WebDAV PUT: a local file, exactly its expected size, read whole or streamed. */
import { BackendError, describeError, type PutSource } from "../backend.ts";
import type { Watchdog } from "../http/watchdog.ts";

/** Files up to this size are read into memory and sent in one piece; larger ones stream. */
export const BUFFER_LIMIT = 4 << 20;
/** Read size when streaming a file. */
const CHUNK = 256 << 10;

/** A put's request body, and the failure of reading it, if one happened while sending. */
export interface PutBody extends AsyncDisposable {
  body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array<ArrayBuffer>>;
  error?: BackendError;
}

/**
 * The body of a put: small files read whole, larger ones as a stream of the open file, read as
 * the request sends it (`DavClient.sendStream`, with `Content-Length: source.size`). Either way
 * exactly `source.size` bytes or a failure: a file that is not that size (before or during the
 * upload) fails with scope "file", and a stream that fails breaks off the request, so the server
 * keeps nothing. As the server takes the body as complete after `source.size` bytes, the stream
 * checks that the file ends there before it hands over the last of them: a file that grew fails
 * with the server still short of a body.
 */
export async function openBody(source: PutSource, watch: Watchdog): Promise<PutBody> {
  const sizeError = (found: string) =>
    new BackendError(`${source.file} ${found}, expected ${source.size}`, "file");
  let file: Deno.FsFile;
  try {
    file = await Deno.open(source.file);
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new BackendError(`cannot read ${source.file}: ${describeError(err)}`, "file", {
      cause: err,
      code,
    });
  }
  let closed = false;
  const close = () => {
    if (!closed) file.close();
    closed = true;
  };
  try {
    const info = await file.stat();
    if (!info.isFile) throw new BackendError(`${source.file} is not a regular file`, "file");
    if (info.size !== source.size) throw sizeError(`has ${info.size} bytes`);
    if (source.size <= BUFFER_LIMIT) {
      const bytes = new Uint8Array(source.size);
      let at = 0;
      while (at < bytes.length) {
        const n = await file.read(bytes.subarray(at));
        if (n === null) throw sizeError(`shrank to ${at} bytes`);
        at += n;
      }
      if ((await file.read(new Uint8Array(1))) !== null) throw sizeError("grew");
      close();
      return { body: bytes, [Symbol.asyncDispose]: () => Promise.resolve() };
    }
  } catch (err) {
    close();
    if (err instanceof BackendError) throw err;
    throw new BackendError(`cannot read ${source.file}: ${describeError(err)}`, "file", {
      cause: err,
    });
  }
  const out: PutBody = {
    body: new ReadableStream<Uint8Array<ArrayBuffer>>(),
    [Symbol.asyncDispose]: () => Promise.resolve(close()),
  };
  let sent = 0;
  let cancelled = false;
  out.body = new ReadableStream<Uint8Array<ArrayBuffer>>({
    async pull(ctl) {
      try {
        const chunk = new Uint8Array(CHUNK);
        const n = await file.read(chunk);
        if (cancelled) return; // the request ended meanwhile
        watch.kick();
        if (n === null) {
          if (sent !== source.size) throw sizeError(`shrank to ${sent} bytes while uploading`);
          close();
          ctl.close();
          return;
        }
        sent += n;
        if (sent > source.size) throw sizeError("grew while uploading");
        if (sent === source.size) {
          const more = await file.read(new Uint8Array(1));
          if (cancelled) return;
          if (more !== null) throw sizeError("grew while uploading");
          close();
          ctl.enqueue(chunk.subarray(0, n));
          ctl.close();
          return;
        }
        ctl.enqueue(chunk.subarray(0, n));
      } catch (err) {
        if (cancelled) return;
        out.error = err instanceof BackendError ? err : new BackendError(
          `cannot read ${source.file}: ${describeError(err)}`,
          "file",
          { cause: err },
        );
        close();
        ctl.error(out.error);
      }
    },
    cancel() {
      cancelled = true;
      close();
    },
  }, { highWaterMark: 0 });
  return out;
}
