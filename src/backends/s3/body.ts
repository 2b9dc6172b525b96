/**
 * Request bodies read from a local file: small ones read whole into memory (one read, one MD5
 * update, one write), larger ones streamed and opened afresh for every attempt of a request (the
 * SDK retries only bodies it can send again, and a stream can be read only once).
 */
import { createHash, type Hash } from "node:crypto";
import { Readable } from "node:stream";
import type { PutObjectCommandOutput, S3Client } from "@aws-sdk/client-s3";
import { BackendError } from "../backend.ts";

/** Bytes read per chunk. */
const CHUNK = 1 << 20;
/** Bodies up to this size are sent from memory: per request, a stream costs more than the read. */
export const BUFFERED_BODY_MAX = 2 * 1024 * 1024;
/** Requests whose body is sent unsigned (its integrity is checked against the ETag instead). */
const UPLOAD_COMMANDS = new Set(["PutObjectCommand", "UploadPartCommand"]);

/** A byte range of a local file in memory, with its MD5 (hex). */
export interface FileBytes {
  bytes: Uint8Array;
  md5: string;
}

/**
 * Reads `length` bytes of `file` from `start`; fails if the file ends early. Synchronous: for a
 * body of at most BUFFERED_BODY_MAX bytes, mostly in the page cache right after a build, the
 * read costs less than the hand-offs to and from Deno's I/O threads that async calls take.
 */
export function readFileRange(file: string, start: number, length: number): FileBytes {
  const bytes = new Uint8Array(length);
  try {
    using handle = Deno.openSync(file);
    if (start > 0) handle.seekSync(start, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < length) {
      const n = handle.readSync(filled ? bytes.subarray(filled) : bytes);
      if (n === null) throw new Error("it became shorter while it was being read");
      filled += n;
    }
  } catch (err) {
    throw new BackendError(
      `cannot read ${file}: ${err instanceof Error ? err.message : err}`,
      "file",
      { cause: err },
    );
  }
  return { bytes, md5: createHash("md5").update(bytes).digest("hex") };
}

/**
 * A byte range of a local file to send as a request body. Passed to the SDK as the body, it is
 * replaced by a fresh stream over the range on each attempt (see `useFileBodies`).
 */
export class FileBody {
  /** MD5 (hex) of the range as the last complete read saw it. */
  md5?: string;

  constructor(readonly file: string, readonly start: number, readonly length: number) {}

  /** A stream of exactly `length` bytes; it fails if the file ends early. */
  open(): Readable {
    return new RangeStream(this);
  }
}

class RangeStream extends Readable {
  #file?: Deno.FsFile;
  #left: number;
  #hash: Hash = createHash("md5");

  constructor(readonly body: FileBody) {
    super({ highWaterMark: CHUNK });
    this.#left = body.length;
  }

  override async _construct(callback: (error?: Error | null) => void): Promise<void> {
    try {
      this.#file = await Deno.open(this.body.file);
      if (this.body.start > 0) await this.#file.seek(this.body.start, Deno.SeekMode.Start);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override async _read(): Promise<void> {
    try {
      if (this.#left === 0) {
        this.body.md5 = this.#hash.digest("hex");
        this.push(null);
        return;
      }
      const buf = new Uint8Array(Math.min(CHUNK, this.#left));
      let filled = 0;
      while (filled < buf.length) {
        const n = await this.#file!.read(filled ? buf.subarray(filled) : buf);
        if (n === null) {
          throw new BackendError(`${this.body.file} became shorter while it was being sent`);
        }
        filled += n;
      }
      this.#left -= filled;
      this.#hash.update(buf);
      // The digest is ready once the last byte is handed over, before the server can answer.
      if (this.#left === 0) this.body.md5 = this.#hash.digest("hex");
      this.push(buf);
      if (this.#left === 0) this.push(null);
    } catch (err) {
      this.destroy(err as Error);
    }
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    try {
      this.#file?.close();
    } catch {
      // closed already
    }
    this.#file = undefined;
    callback(err);
  }
}

/**
 * Makes `client` send FileBody bodies as streams opened per attempt, and upload bodies unsigned:
 * the signer would otherwise hash in-memory bodies with SHA-256 on top of our MD5. The stream
 * step runs after the retry step, on a copy of the request, so that the SDK's retry layer keeps
 * seeing a body it may resend.
 */
export function useFileBodies(client: S3Client): void {
  client.middlewareStack.add(
    // deno-lint-ignore no-explicit-any
    (next: any, context: any) => (args: any) => {
      if (UPLOAD_COMMANDS.has(context.commandName) && args.request?.headers) {
        args.request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
      }
      return next(args);
    },
    { step: "build", name: "isarUnsignedPayload" },
  );
  client.middlewareStack.addRelativeTo(
    // deno-lint-ignore no-explicit-any
    (next: any) => async (args: any) => {
      const request = args.request;
      if (!(request?.body instanceof FileBody)) return next(args);
      const stream = request.body.open();
      const attempt = Object.assign(Object.create(Object.getPrototypeOf(request)), request, {
        headers: { ...request.headers },
        body: stream,
      });
      try {
        return await next({ ...args, request: attempt });
      } finally {
        stream.destroy(); // closes the file whether or not the server read it all
      }
    },
    { name: "isarFileBody", relation: "after", toMiddleware: "retryMiddleware" },
  );
}

/** The ETag of a single-part upload when it is the MD5 of the content, else undefined. */
export function plainMd5(out: PutObjectCommandOutput): string | undefined {
  const etag = out.ETag?.replaceAll('"', "").toLowerCase();
  if (!etag || !/^[0-9a-f]{32}$/.test(etag)) return undefined;
  // With KMS or customer keys, S3's ETag is not the MD5 of the content.
  const sse = out.ServerSideEncryption ?? "";
  if (sse.startsWith("aws:kms") || out.SSECustomerAlgorithm) return undefined;
  return etag;
}
