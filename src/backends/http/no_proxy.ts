/**
 * `NO_PROXY` as curl and the AWS CLI read it: a comma- (or space-) separated list of host names
 * (each with its subdomains; a leading `.` or `*.` changes nothing), IP addresses, CIDR ranges
 * (`10.0.0.0/8`, `fd00::/8`), each optionally with `:port`, or `*` for every host.
 */
import { isIP } from "node:net";

/** An IP address as a number (IPv4: 32 bits, IPv6: 128 bits), or null for anything else. */
function ipValue(text: string): { bits: number; value: bigint } | null {
  const kind = isIP(text);
  if (kind === 4) {
    const value = text.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
    return { bits: 32, value };
  }
  if (kind !== 6) return null;
  let groups = text.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(groups);
  if (v4) {
    const n = ipValue(v4[1])!.value;
    groups = groups.slice(0, -v4[1].length) +
      `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = groups.includes("::") ? groups.split("::") : [groups, undefined];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const all = tail === undefined ? left : [
    ...left,
    ...Array(8 - left.length - right.length).fill("0"),
    ...right,
  ];
  return { bits: 128, value: all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

/** Whether the address `host` lies in `entry`: an address, or a CIDR range of addresses. */
function ipMatches(host: { bits: number; value: bigint }, entry: string): boolean {
  const [addr, len] = entry.split("/");
  const net = ipValue(addr);
  if (!net || net.bits !== host.bits) return false;
  const prefix = len === undefined ? net.bits : Number(len);
  if (!/^\d*$/.test(len ?? "") || prefix > net.bits) return false;
  const shift = BigInt(net.bits - prefix);
  return (host.value >> shift) === (net.value >> shift);
}

/** An entry split into host (brackets and a trailing dot removed) and port, if any. */
function splitEntry(entry: string): [string, string | undefined] {
  const bracketed = /^\[([^\]]*)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return [bracketed[1], bracketed[2]];
  // More than one colon and no brackets: an IPv6 address (or range), without a port.
  if (entry.indexOf(":") !== entry.lastIndexOf(":")) return [entry, undefined];
  const m = /^(.*?)(?::(\d+))?$/.exec(entry)!;
  return [m[1].replace(/\.$/, ""), m[2]];
}

/** Whether the NO_PROXY value `list` exempts a request to `url` from the proxy. */
export function noProxyMatches(list: string, url: URL): boolean {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "").toLowerCase();
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  const ip = ipValue(host);
  for (const raw of list.toLowerCase().split(/[\s,]+/)) {
    if (raw === "*") return true;
    if (!raw) continue;
    const [name, entryPort] = splitEntry(raw);
    if (entryPort !== undefined && entryPort !== port) continue;
    if (ip) {
      if (ipMatches(ip, name)) return true;
      continue;
    }
    const domain = name.replace(/^\*?\./, "");
    if (domain && (host === domain || host.endsWith(`.${domain}`))) return true;
  }
  return false;
}
