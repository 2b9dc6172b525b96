/** A node:http response as a fetch `Response`, for callers that read bodies as web streams. */
import type http from "node:http";

/** Statuses whose responses have no body. */
const NO_BODY = new Set([101, 204, 205, 304]);

/**
 * `res` as a `Response`: its body streams with backpressure and calls `onChunk` for every chunk
 * (a watchdog's kick). A body cancelled by its reader is read to its end all the same, so that
 * the connection can be used again; a failure of the response errors the body.
 */
export function toResponse(res: http.IncomingMessage, onChunk?: () => void): Response {
  const status = res.statusCode ?? 0;
  let cancelled = false;
  const body = NO_BODY.has(status) ? null : new ReadableStream<Uint8Array>({
    start(ctl) {
      res.on("data", (chunk: Uint8Array) => {
        if (cancelled) return;
        onChunk?.();
        // A plain Uint8Array, as fetch gives (not node's Buffer).
        ctl.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((ctl.desiredSize ?? 0) <= 0) res.pause();
      });
      res.once("end", () => {
        if (!cancelled) ctl.close();
      });
      res.once("error", (err) => {
        if (!cancelled) ctl.error(err);
      });
    },
    pull() {
      res.resume();
    },
    cancel() {
      cancelled = true;
      res.resume();
    },
  });
  if (!body) res.resume();
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      try {
        headers.append(name, v);
      } catch {
        // a header fetch would not take either
      }
    }
  }
  try {
    return new Response(body, { status, statusText: res.statusMessage ?? "", headers });
  } catch {
    return new Response(body, { status, headers }); // a reason phrase fetch would not take
  }
}
