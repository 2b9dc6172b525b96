/**
 * Recording the use of a file on a WebDAV server: the dead property `{urn:isar-sstate}lastused`,
 * set with one PROPPATCH. `DAV:getlastmodified` is protected (Apache answers 409), and a dead
 * property is stored beside the file without rewriting it, so readers never see it change.
 * Listings ask for the property next to `getlastmodified` (see list.ts).
 */
import { BackendError, checkPath, UNSUPPORTED } from "../backend.ts";
import type { DavClient } from "./client.ts";
import { ISAR_NS, LAST_USED, MultistatusError, parseMultistatus } from "./xml.ts";

/** Statuses with which a server refuses PROPPATCH itself. */
const NO_PROPPATCH = new Set([405, 501]);

/** The PROPPATCH body that sets the last use to `when`. */
export function lastUsedBody(when: Date): string {
  return '<?xml version="1.0" encoding="utf-8"?>' +
    `<D:propertyupdate xmlns:D="DAV:" xmlns:I="${ISAR_NS}"><D:set><D:prop>` +
    `<I:${LAST_USED}>${when.toISOString()}</I:${LAST_USED}></D:prop></D:set></D:propertyupdate>`;
}

/**
 * Sets the last use of the file at `path` to now; false when it does not exist. A server that
 * refuses the property (or PROPPATCH) throws a BackendError with code UNSUPPORTED.
 */
export async function markUsed(
  client: DavClient,
  path: string,
  signal?: AbortSignal,
): Promise<boolean> {
  checkPath(path);
  const url = client.url(path);
  const what = `cannot mark ${path} as used`;
  using watch = client.watch(signal);
  const headers = { "Content-Type": "application/xml; charset=utf-8" };
  const body = lastUsedBody(new Date());
  const res = await client.send("PROPPATCH", url, { headers, body }, what, watch);
  if (res.status === 404) {
    await res.body?.cancel();
    return false;
  }
  const refused = (why: string) =>
    new BackendError(
      `${client.display} does not record the last use of files (${why}): ` +
        "uploads cannot mark the artifacts builds use",
      "file",
      { code: UNSUPPORTED },
    );
  if (NO_PROPPATCH.has(res.status)) {
    await res.body?.cancel();
    throw refused(`PROPPATCH answered HTTP ${res.status}`);
  }
  if (res.status !== 207) {
    await res.body?.cancel();
    throw client.statusError(res, what);
  }
  const text = new TextDecoder().decode(await client.readBody(res, what, watch));
  let failed: boolean;
  try {
    const resources = parseMultistatus(text);
    failed = resources.length === 0 || resources.some((r) => r.failed);
  } catch (err) {
    if (!(err instanceof MultistatusError)) throw err;
    throw new BackendError(`${what}: unreadable response (${err.message})`, "transient");
  }
  if (failed) throw refused(`it refused the property {${ISAR_NS}}${LAST_USED}`);
  return true;
}
