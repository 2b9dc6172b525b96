/**
 * NO_PROXY and the proxy variables as curl and the AWS CLI read them: host names with their
 * subdomains (a leading `.` or `*.` changes nothing), ports, `*`, IP addresses and CIDR ranges
 * (IPv4 and IPv6), both spellings of every variable (the lower-case one first). Requests through
 * a real proxy, and NO_PROXY bypassing it, are in http_proxy_test.ts.
 */
import assert from "node:assert/strict";
import { BackendError } from "../src/backends/backend.ts";
import { noProxyMatches } from "../src/backends/http/no_proxy.ts";
import { proxyFor } from "../src/backends/http/proxy.ts";

Deno.test("no_proxy: host names, suffixes, ports, '*', IPs and CIDR ranges", () => {
  const cases: [string, string, boolean][] = [
    // host names: the name and its subdomains, not names that merely end alike
    ["example.com", "https://example.com/", true],
    ["example.com", "https://s3.example.com/", true],
    ["example.com", "https://notexample.com/", false],
    [".example.com", "https://example.com/", true],
    [".example.com", "https://a.b.example.com/", true],
    ["*.example.com", "https://s3.example.com/", true],
    ["EXAMPLE.com", "https://S3.Example.COM/", true],
    ["example.com.", "https://s3.example.com/", true],
    // lists: commas and spaces, empty entries
    ["foo, ,bar.org example.com", "https://x.example.com/", true],
    ["foo,bar.org", "https://x.example.com/", false],
    // ports: only that port (the scheme's default when the URL has none)
    ["example.com:8443", "https://s3.example.com:8443/", true],
    ["example.com:8443", "https://s3.example.com/", false],
    ["example.com:443", "https://s3.example.com/", true],
    ["example.com:80", "http://s3.example.com/", true],
    // everything
    ["*", "http://anything:1/", true],
    ["", "http://anything:1/", false],
    // IPv4: the address, ranges; never by suffix
    ["127.0.0.1", "http://127.0.0.1:9000/", true],
    ["127.0.0.1:9000", "http://127.0.0.1:9000/", true],
    ["127.0.0.1:9001", "http://127.0.0.1:9000/", false],
    ["0.0.1", "http://127.0.0.1/", false],
    ["127.0.0.0/8", "http://127.1.2.3/", true],
    ["10.0.0.0/8", "http://127.0.0.1/", false],
    ["192.168.4.0/22", "http://192.168.7.255/", true],
    ["192.168.4.0/22", "http://192.168.8.0/", false],
    ["0.0.0.0/0", "http://8.8.8.8/", true],
    ["localhost", "http://127.0.0.1/", false],
    // IPv6: bracketed or not, with a port, ranges
    ["::1", "http://[::1]:9000/", true],
    ["[::1]", "http://[::1]:9000/", true],
    ["[::1]:9000", "http://[::1]:9000/", true],
    ["[::1]:9001", "http://[::1]:9000/", false],
    ["fd00::/8", "http://[fd12:3456::1]/", true],
    ["fd00::/8", "http://[fe80::1]/", false],
    ["::ffff:10.0.0.0/104", "http://[::ffff:10.1.2.3]/", true],
    ["::1", "http://127.0.0.1/", false],
  ];
  for (const [list, url, expected] of cases) {
    assert.equal(noProxyMatches(list, new URL(url)), expected, `NO_PROXY=${list} ${url}`);
  }
});

/** Runs `fn` with exactly these proxy variables set (all others unset), then restores them. */
function withProxyEnv(vars: Record<string, string>, fn: () => void): void {
  const names = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"]
    .flatMap((n) => [n, n.toLowerCase()]);
  const saved = new Map(names.map((n) => [n, Deno.env.get(n)]));
  try {
    for (const n of names) Deno.env.delete(n);
    for (const [n, v] of Object.entries(vars)) Deno.env.set(n, v);
    fn();
  } finally {
    for (const [n, v] of saved) v === undefined ? Deno.env.delete(n) : Deno.env.set(n, v);
  }
}

Deno.test("no_proxy: the variables in both spellings, the lower-case one first", () => {
  const https = new URL("https://s3.example.com/");
  const http = new URL("http://dav.example.com/");
  withProxyEnv({ HTTPS_PROXY: "http://upper:3128" }, () => {
    assert.deepEqual(
      [proxyFor(https)?.host, proxyFor(https)?.variable, proxyFor(http)],
      ["upper", "HTTPS_PROXY", null],
    );
  });
  withProxyEnv({ https_proxy: "lower:3129", HTTPS_PROXY: "http://upper:3128" }, () => {
    const p = proxyFor(https)!;
    assert.deepEqual([p.host, p.port, p.variable], ["lower", 3129, "https_proxy"]);
  });
  withProxyEnv({ http_proxy: "http://lower:3128", all_proxy: "http://all:1" }, () => {
    assert.equal(proxyFor(http)?.variable, "http_proxy");
    assert.equal(proxyFor(https)?.variable, "all_proxy");
  });
  // NO_PROXY in either spelling; an empty lower-case one unsets the upper-case one.
  withProxyEnv({ HTTPS_PROXY: "http://p:1", NO_PROXY: "example.com" }, () => {
    assert.equal(proxyFor(https), null);
  });
  withProxyEnv({ HTTPS_PROXY: "http://p:1", no_proxy: ".example.com" }, () => {
    assert.equal(proxyFor(https), null);
  });
  withProxyEnv({ HTTPS_PROXY: "http://p:1", no_proxy: "", NO_PROXY: "example.com" }, () => {
    assert.equal(proxyFor(https)?.host, "p");
  });
  // A proxy that cannot be used: one error naming its variable, never its password.
  withProxyEnv({ https_proxy: "socks5://user:pw-secret@p:1080" }, () => {
    assert.throws(
      () => proxyFor(https),
      (err: Error) =>
        err instanceof BackendError && err.message.startsWith("https_proxy=") &&
        err.message.includes("only http:// proxies") && !err.message.includes("pw-secret"),
    );
  });
});
