/**
 * A TCP proxy on 127.0.0.1 in front of a server that misbehaves on some connections, the way a
 * busy or flaky S3 endpoint does: it answers the first request 503 SlowDown, or hangs up in the
 * middle of it. Which connections fail is decided by their number, so runs are repeatable.
 */

/** What happens to one connection. */
export type Fault = "pass" | "slowdown" | "drop";

const SLOWDOWN_BODY = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>' +
  "<Message>Please reduce your request rate.</Message></Error>";
const SLOWDOWN = new TextEncoder().encode(
  "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n" +
    `Content-Length: ${SLOWDOWN_BODY.length}\r\nConnection: close\r\n\r\n${SLOWDOWN_BODY}`,
);

/** A running fault-injecting proxy. */
export class FaultProxy {
  readonly port: number;
  /** Connections by what was done to them. */
  readonly stats: Record<Fault, number> = { pass: 0, slowdown: 0, drop: 0 };
  #listener: Deno.Listener;
  #conns = new Set<Deno.Conn>();
  #served: Promise<void>;
  #count = 0;

  /** `plan(n)` decides the fate of the n-th connection (from 1). */
  constructor(readonly upstreamPort: number, readonly plan: (n: number) => Fault) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#served = this.#serve();
  }

  async #serve(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.#conns.add(conn);
        this.#handle(conn, this.plan(++this.#count)).finally(() => this.#close(conn));
      }
    } catch {
      // listener closed
    }
  }

  #close(conn: Deno.Conn): void {
    if (!this.#conns.delete(conn)) return;
    try {
      conn.close();
    } catch {
      // closed already
    }
  }

  async #handle(client: Deno.Conn, fault: Fault): Promise<void> {
    this.stats[fault]++;
    if (fault !== "pass") {
      // Take the start of the first request, then answer SlowDown or hang up in its middle.
      // (No read may be pending when the connection is closed: the close would wait for it.)
      await client.read(new Uint8Array(16 * 1024)).catch(() => null);
      if (fault === "slowdown") await client.write(SLOWDOWN).catch(() => 0);
      return;
    }
    const upstream = await Deno.connect({ hostname: "127.0.0.1", port: this.upstreamPort });
    this.#conns.add(upstream);
    await Promise.allSettled([
      client.readable.pipeTo(upstream.writable),
      upstream.readable.pipeTo(client.writable),
    ]);
    this.#close(upstream);
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    this.#listener.close();
    for (const conn of [...this.#conns]) this.#close(conn);
    await this.#served;
  }
}
