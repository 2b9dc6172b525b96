/**
 * The AWS SDK's request handler on the shared transport, on its own, against small servers on
 * 127.0.0.1: query strings as the SDK signs them, bodies of every kind, connection reuse, stalls
 * that end in a TimeoutError (which the SDK retries) and aborts that end at once.
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { abortedBeforeSending } from "../src/backends/http/transport.ts";
import { queryString, SdkHandler, type SdkRequest } from "../src/backends/s3/http_handler.ts";

const OPTIONS = { maxSockets: 8, connectTimeout: 2_000, idleTimeout: 2_000 };

function request(port: number, extra: Partial<SdkRequest> = {}): SdkRequest {
  return {
    protocol: "http:",
    hostname: "127.0.0.1",
    port,
    method: "PUT",
    path: "/bucket/a%3Ab",
    headers: {},
    ...extra,
  };
}

async function text(body: Readable): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return new TextDecoder().decode(
    chunks.reduce((a, b) => new Uint8Array([...a, ...b]), new Uint8Array()),
  );
}

Deno.test("s3 transport: query strings are sorted and escaped as the SDK signs them", () => {
  assert.equal(queryString(undefined), "");
  assert.equal(queryString({ delete: "" }), "delete=");
  assert.equal(
    queryString({ prefix: "a/b c!*", "list-type": "2", "x-id": null, tag: ["b", "a'"] }),
    "list-type=2&prefix=a%2Fb%20c%21%2A&tag=b&tag=a%27&x-id",
  );
});

Deno.test("s3 transport: bodies of each kind arrive whole, on one kept-alive connection", async () => {
  const connections = new Set<string>();
  const seen: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req, info) => {
      connections.add(`${info.remoteAddr.port}`);
      const url = new URL(req.url);
      seen.push(`${req.method} ${url.pathname}${url.search} ${await req.text()}`);
      return new Response("ok", { headers: { etag: '"abc"', "x-amz-request-id": "r1" } });
    },
  );
  const transport = new SdkHandler(OPTIONS);
  try {
    const port = server.addr.port;
    const bodies: unknown[] = [
      new TextEncoder().encode("bytes"),
      "string",
      Readable.from([new TextEncoder().encode("str"), new TextEncoder().encode("eam")]),
      undefined,
    ];
    for (const body of bodies) {
      const { response } = await transport.handle(
        request(port, { body, query: { "x-id": "Put" } }),
      );
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers.etag, '"abc"');
      assert.equal(await text(response.body), "ok");
    }
    assert.deepEqual(seen, [
      "PUT /bucket/a%3Ab?x-id=Put bytes",
      "PUT /bucket/a%3Ab?x-id=Put string",
      "PUT /bucket/a%3Ab?x-id=Put stream",
      "PUT /bucket/a%3Ab?x-id=Put ",
    ]);
    assert.equal(connections.size, 1);
  } finally {
    transport.destroy();
    await server.shutdown();
  }
});

/** A server that accepts connections and never answers. */
function silentServer(): { port: number; close: () => void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const conn of listener) conns.push(conn);
    } catch {
      // closed
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    close: () => {
      listener.close();
      for (const c of conns) c.close();
    },
  };
}

Deno.test("s3 transport: a server that stops answering fails the request with a TimeoutError", async () => {
  const server = silentServer();
  const transport = new SdkHandler({ ...OPTIONS, idleTimeout: 300 });
  try {
    const started = performance.now();
    await assert.rejects(
      () => transport.handle(request(server.port, { body: new Uint8Array(10) })),
      (err: Error) => err.name === "TimeoutError",
    );
    assert.ok(performance.now() - started < 1_500);
  } finally {
    transport.destroy();
    server.close();
  }
});

Deno.test("s3 transport: an abort ends a request at once, and an aborted signal sends none", async () => {
  const server = silentServer();
  const transport = new SdkHandler(OPTIONS);
  try {
    const ctl = new AbortController();
    const pending = transport.handle(request(server.port, { body: "x" }), {
      abortSignal: ctl.signal,
    });
    setTimeout(() => ctl.abort(), 50);
    await assert.rejects(() => pending, (err: Error) => err.name === "AbortError");
    await assert.rejects(
      () => transport.handle(request(server.port), { abortSignal: ctl.signal }),
      (err: Error) => err.name === "AbortError",
    );
  } finally {
    transport.destroy();
    server.close();
  }
});

Deno.test("s3 transport: after an abort, a request the server has whole may still answer", async () => {
  let answered = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.arrayBuffer();
    await new Promise((r) => setTimeout(r, 300));
    answered++;
    return new Response("done");
  });
  const transport = new SdkHandler({ ...OPTIONS, abortGrace: 5_000 });
  const silent = silentServer();
  try {
    // Sent whole, then aborted: the answer that comes within the grace is the outcome.
    const ctl = new AbortController();
    const pending = transport.handle(request(server.addr.port, { body: "x", method: "POST" }), {
      abortSignal: ctl.signal,
    });
    setTimeout(() => ctl.abort(), 100);
    const { response } = await pending;
    assert.equal(response.statusCode, 200);
    assert.equal(await text(response.body), "done");
    assert.equal(answered, 1);
    // A GET is cut at once; so is a request aborted before it was sent, which says so.
    const get = new AbortController();
    const reading = transport.handle(request(silent.port, { method: "GET" }), {
      abortSignal: get.signal,
    });
    setTimeout(() => get.abort(), 50);
    await assert.rejects(() => reading, (err: Error) => err.name === "AbortError");
    await assert.rejects(
      () => transport.handle(request(silent.port), { abortSignal: get.signal }),
      (err: Error) => abortedBeforeSending(err),
    );
  } finally {
    transport.destroy();
    silent.close();
    await server.shutdown();
  }
});

Deno.test("s3 transport: a stall is told before the request fails", async () => {
  const server = silentServer();
  const stalls: string[] = [];
  const transport = new SdkHandler({
    ...OPTIONS,
    idleTimeout: 200,
    onStall: (message) => stalls.push(message),
  });
  try {
    await assert.rejects(
      () => transport.handle(request(server.port, { body: "x" })),
      (err: Error) => err.name === "TimeoutError",
    );
    assert.deepEqual(stalls, ["no answer for 0.2 s"]);
  } finally {
    transport.destroy();
    server.close();
  }
});
