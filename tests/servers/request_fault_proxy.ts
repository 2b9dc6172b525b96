/**
 * A fault-injecting HTTP/1.1 proxy for tests, in front of a real server on 127.0.0.1: for chosen
 * requests it answers 503 itself, drops the connection before forwarding, after forwarding part
 * of the body, or after forwarding the whole request (so the server acts on a request whose
 * answer the client never gets). It understands just enough HTTP to find request boundaries on
 * kept-alive connections (Content-Length and chunked bodies); responses are copied unchanged.
 * Optionally it answers chosen requests itself, or inverts the first body byte of chosen ones.
 */

/** What happens to one request. */
export type Fault = "none" | "503" | "drop-before" | "drop-mid" | "drop-after";

/** The start of a request, as the proxy saw it. */
export interface RequestHead {
  method: string;
  path: string;
  /** Header names in lower case. */
  headers: Map<string, string>;
}

/** A response the proxy gives itself, on a connection it then closes. */
export interface Answer {
  status: number;
  /** Sent as `application/xml` (an S3 error document, for example). */
  body?: string;
}

/** How the proxy behaves. */
export interface FaultProxyOptions {
  /** The server's port on 127.0.0.1. */
  targetPort: number;
  /** The fault for a request (default: none). */
  fault?: (head: RequestHead) => Fault;
  /** Called before a request is forwarded; the request waits for it. */
  beforeForward?: (head: RequestHead) => Promise<void>;
  /** The proxy's own answer to a request (read whole, never forwarded), or undefined. */
  answer?: (head: RequestHead) => Answer | undefined;
  /**
   * Whether to forward the request with the first byte of its Content-Length body inverted:
   * the same length, so headers and a signature that leaves out the payload still hold.
   */
  corrupt?: (head: RequestHead) => boolean;
}

/** A running proxy. */
export interface FaultProxy extends AsyncDisposable {
  port: number;
  /** Requests seen per fault. */
  counts: Record<Fault, number>;
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Buffered reading from a connection. */
class Reader {
  #buf = new Uint8Array(0);
  constructor(readonly conn: Deno.Conn) {}

  /** Reads more bytes; false at the end of the stream. */
  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.conn.read(chunk);
    if (n === null) return false;
    const merged = new Uint8Array(this.#buf.length + n);
    merged.set(this.#buf);
    merged.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = merged;
    return true;
  }

  /** Bytes up to and including `marker`, or null at the end of the stream. */
  async until(marker: string): Promise<Uint8Array | null> {
    const m = encoder.encode(marker);
    for (;;) {
      const at = indexOf(this.#buf, m);
      if (at >= 0) return this.take(at + m.length);
      if (!(await this.#fill())) return null;
    }
  }

  /** Up to `max` bytes (at least one), or null at the end of the stream. */
  async some(max: number): Promise<Uint8Array | null> {
    if (this.#buf.length === 0 && !(await this.#fill())) return null;
    return this.take(Math.min(max, this.#buf.length));
  }

  take(n: number): Uint8Array {
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function parseHead(bytes: Uint8Array): RequestHead {
  const lines = decoder.decode(bytes).split("\r\n");
  const [method, path] = lines[0].split(" ");
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
  }
  return { method, path, headers };
}

/**
 * Copies the body of a request from `from`, passing each piece to `sink`; `limit` stops early
 * after that many bytes. Returns false when the client went away.
 */
async function body(
  head: RequestHead,
  from: Reader,
  sink: (bytes: Uint8Array) => Promise<void>,
  limit = Infinity,
): Promise<boolean> {
  let sent = 0;
  const pass = async (bytes: Uint8Array) => {
    const part = bytes.subarray(0, Math.max(0, limit - sent));
    sent += part.length;
    if (part.length > 0) await sink(part);
    return sent < limit;
  };
  if (head.headers.get("transfer-encoding")?.toLowerCase().includes("chunked")) {
    for (;;) {
      const sizeLine = await from.until("\r\n");
      if (!sizeLine) return false;
      if (!(await pass(sizeLine))) return true;
      const size = parseInt(decoder.decode(sizeLine), 16);
      if (size === 0) {
        for (;;) {
          const trailer = await from.until("\r\n");
          if (!trailer) return false;
          if (!(await pass(trailer))) return true;
          if (trailer.length === 2) return true;
        }
      }
      let left = size + 2; // data and its CRLF
      while (left > 0) {
        const bytes = await from.some(left);
        if (!bytes) return false;
        left -= bytes.length;
        if (!(await pass(bytes))) return true;
      }
    }
  }
  let left = Number(head.headers.get("content-length") ?? 0);
  while (left > 0) {
    const bytes = await from.some(left);
    if (!bytes) return false;
    left -= bytes.length;
    if (!(await pass(bytes))) return true;
  }
  return true;
}

/** Starts a proxy on a free port of 127.0.0.1. */
export function startFaultProxy(options: FaultProxyOptions): FaultProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const counts: Record<Fault, number> = {
    "none": 0,
    "503": 0,
    "drop-before": 0,
    "drop-mid": 0,
    "drop-after": 0,
  };
  const open = new Set<Deno.Conn>();
  const closeAll = (...conns: Deno.Conn[]) => {
    for (const c of conns) {
      open.delete(c);
      try {
        c.close();
      } catch {
        // closed already
      }
    }
  };

  const serve = async (client: Deno.Conn) => {
    let upstream: Deno.Conn;
    try {
      upstream = await Deno.connect({ hostname: "127.0.0.1", port: options.targetPort });
    } catch {
      return closeAll(client);
    }
    open.add(client);
    open.add(upstream);
    // Responses go back unchanged.
    (async () => {
      const buf = new Uint8Array(64 * 1024);
      try {
        for (;;) {
          const n = await upstream.read(buf);
          if (n === null) break;
          await writeAll(client, buf.subarray(0, n));
        }
      } catch {
        // either side closed
      }
      closeAll(client, upstream);
    })();
    const reader = new Reader(client);
    try {
      for (;;) {
        const headBytes = await reader.until("\r\n\r\n");
        if (!headBytes) break;
        const head = parseHead(headBytes);
        const fault = options.fault?.(head) ?? "none";
        counts[fault]++;
        if (fault === "drop-before") break;
        const answer = fault === "503" ? { status: 503 } : options.answer?.(head);
        if (answer) {
          await body(head, reader, () => Promise.resolve());
          await writeAll(client, encoder.encode(responseText(answer)));
          break;
        }
        await options.beforeForward?.(head);
        await writeAll(upstream, headBytes);
        const forward = options.corrupt?.(head)
          ? corrupter(upstream)
          : (bytes: Uint8Array) => writeAll(upstream, bytes);
        if (fault === "drop-mid") {
          const length = Number(head.headers.get("content-length") ?? 1 << 20);
          await body(head, reader, forward, Math.floor(length / 2));
          break;
        }
        if (!(await body(head, reader, forward))) break;
        if (fault === "drop-after") {
          // Let the server read the whole request before the client's side goes away.
          await new Promise((r) => setTimeout(r, 50));
          break;
        }
      }
    } catch {
      // a side closed
    }
    closeAll(client, upstream);
  };

  const accepting = (async () => {
    try {
      for await (const conn of listener) serve(conn);
    } catch {
      // listener closed
    }
  })();

  const close = async () => {
    try {
      listener.close();
    } catch {
      // closed already
    }
    closeAll(...open);
    await accepting;
  };
  return {
    port: (listener.addr as Deno.NetAddr).port,
    counts,
    close,
    [Symbol.asyncDispose]: close,
  };
}

const REASONS: Record<number, string> = {
  403: "Forbidden",
  404: "Not Found",
  503: "Service Unavailable",
};

/** The HTTP/1.1 text of `answer`, closing the connection. */
function responseText(answer: Answer): string {
  const body = answer.body ?? "";
  const type = body ? "Content-Type: application/xml\r\n" : "";
  return `HTTP/1.1 ${answer.status} ${REASONS[answer.status] ?? "Error"}\r\n${type}` +
    `Content-Length: ${encoder.encode(body).length}\r\nConnection: close\r\n\r\n${body}`;
}

/** A sink that writes to `conn` with the first byte inverted. */
function corrupter(conn: Deno.Conn): (bytes: Uint8Array) => Promise<void> {
  let first = true;
  return (bytes) => {
    if (first && bytes.length > 0) {
      bytes = bytes.slice();
      bytes[0] ^= 0xff;
      first = false;
    }
    return writeAll(conn, bytes);
  };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}
