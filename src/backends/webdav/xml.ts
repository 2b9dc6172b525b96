/**
 * Reading WebDAV `207 Multi-Status` PROPFIND responses, incrementally, so that a long listing
 * streams while it downloads: a small namespace-aware XML scanner (elements matched by namespace
 * URI and local name, every `2xx` propstat counted, text kept as text; why not the npm `webdav`
 * package's parser: docs/webdav.md).
 */

/** One `<response>` of a multistatus: a resource and the properties the server returned. */
export interface DavResource {
  /** The href exactly as sent (entity-decoded, still percent-encoded). */
  href: string;
  collection: boolean;
  /** `getcontentlength`, or -1 when absent. */
  size: number;
  /** `getlastmodified` in ms since the epoch, or 0 when absent or unparsable. */
  mtime: number;
  /** The dead property `{urn:isar-sstate}lastused` in ms since the epoch, or 0 when absent. */
  lastUsed: number;
  /** `getetag` as sent (quotes and any `W/` included), or "" when absent. */
  etag: string;
  /** The response carried no 2xx status for the resource (e.g. a member reported as 404). */
  failed: boolean;
}

const DAV = "DAV:";
/** The namespace of this tool's dead properties. */
export const ISAR_NS = "urn:isar-sstate";
/** The dead property that records the last use of a file (see `Backend.markUsed`). */
export const LAST_USED = "lastused";
/** Properties whose text is collected. */
const TEXT_PROPS = new Set(["getcontentlength", "getlastmodified", "getetag"]);

/** A malformed or unexpected response body. */
export class MultistatusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MultistatusError";
  }
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** Replaces XML character and predefined entity references. */
function decodeEntities(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] !== "#") return ENTITIES[ref] ?? whole;
    const code = ref[1] === "x" || ref[1] === "X"
      ? parseInt(ref.slice(2), 16)
      : parseInt(ref.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

interface Element {
  ns: string;
  local: string;
  /** Prefix bindings declared on this element, or undefined when it declares none. */
  scope?: Map<string, string>;
}

/**
 * Parses a multistatus body fed in pieces: `push` returns the responses completed so far, `end`
 * checks that the document was complete. Throws `MultistatusError` for a body that is not a
 * well-formed `DAV:multistatus`.
 */
export class MultistatusParser {
  #buf = "";
  #stack: Element[] = [];
  #scopes: Map<string, string>[] = [new Map([["xml", "http://www.w3.org/XML/1998/namespace"]])];
  #sawRoot = false;
  #done = false;
  #text = "";
  #collectText = false;
  // The response and propstat being read.
  #res: DavResource | null = null;
  #resStatus = 0;
  #propstatOk = false;
  #props: Partial<Pick<DavResource, "collection" | "size" | "mtime" | "lastUsed" | "etag">> = {};
  #anyOk = false;
  #out: DavResource[] = [];

  /** Feeds the next piece of the body; returns the responses it completed. */
  push(chunk: string): DavResource[] {
    this.#buf = this.#buf.length === 0 ? chunk : this.#buf + chunk;
    this.#scan();
    const out = this.#out;
    this.#out = [];
    return out;
  }

  /** Ends the body; throws unless it held one complete multistatus document. */
  end(): DavResource[] {
    const out = this.push("");
    if (this.#buf.trim() !== "" || !this.#done) {
      throw new MultistatusError(
        this.#sawRoot ? "truncated multistatus response" : "empty or non-XML response",
      );
    }
    return out;
  }

  #scan(): void {
    const buf = this.#buf;
    let pos = 0;
    for (;;) {
      const lt = buf.indexOf("<", pos);
      if (lt < 0) {
        // Keep a partial text run (it may end in half an entity) for the next chunk.
        if (this.#collectText) {
          const amp = buf.lastIndexOf("&");
          const cut = amp >= pos && !buf.includes(";", amp) ? amp : buf.length;
          this.#text += decodeEntities(buf.slice(pos, cut));
          pos = cut;
        } else if (buf.slice(pos).trim() !== "" && this.#stack.length === 0) {
          throw new MultistatusError("text outside the root element");
        } else pos = buf.length;
        break;
      }
      if (lt > pos) this.#onText(buf.slice(pos, lt));
      const next = this.#markup(buf, lt);
      if (next < 0) {
        pos = lt;
        break;
      }
      pos = next;
    }
    this.#buf = buf.slice(pos);
  }

  /** Handles the markup starting at `lt`; returns the position after it, or -1 if incomplete. */
  #markup(buf: string, lt: number): number {
    if (buf.startsWith("<!--", lt)) return this.#skipTo(buf, lt, "-->");
    if (buf.startsWith("<![CDATA[", lt)) {
      const end = buf.indexOf("]]>", lt + 9);
      if (end < 0) return -1;
      if (this.#collectText) this.#text += buf.slice(lt + 9, end);
      return end + 3;
    }
    if (buf.startsWith("<?", lt)) return this.#skipTo(buf, lt, "?>");
    if (buf.startsWith("<!", lt)) {
      if (buf.length - lt < 9) return -1;
      if (buf.startsWith("<!DOCTYPE", lt) && !this.#sawRoot) {
        const end = buf.indexOf(">", lt);
        if (end >= 0 && buf.lastIndexOf("[", end) > lt) {
          throw new MultistatusError("document type declarations are not supported");
        }
        return end < 0 ? -1 : end + 1;
      }
      throw new MultistatusError("unexpected markup");
    }
    const end = tagEnd(buf, lt + 1);
    if (end < 0) return -1;
    if (buf[lt + 1] === "/") this.#close(buf.slice(lt + 2, end).trim());
    else {
      const selfClosing = buf[end - 1] === "/";
      this.#open(buf.slice(lt + 1, selfClosing ? end - 1 : end));
      if (selfClosing) this.#close(null);
    }
    return end + 1;
  }

  #skipTo(buf: string, lt: number, marker: string): number {
    const end = buf.indexOf(marker, lt + 2);
    return end < 0 ? -1 : end + marker.length;
  }

  #onText(raw: string): void {
    if (this.#collectText) this.#text += decodeEntities(raw);
    else if (this.#stack.length === 0 && raw.trim() !== "") {
      throw new MultistatusError("text outside the root element");
    }
  }

  #open(tag: string): void {
    if (this.#done) throw new MultistatusError("content after the root element");
    const nameEnd = tag.search(/[\s]/);
    const qname = nameEnd < 0 ? tag : tag.slice(0, nameEnd);
    let scope: Map<string, string> | undefined;
    if (nameEnd >= 0) {
      for (const [name, value] of attributes(tag.slice(nameEnd))) {
        if (name === "xmlns") (scope ??= new Map()).set("", value);
        else if (name.startsWith("xmlns:")) (scope ??= new Map()).set(name.slice(6), value);
      }
    }
    if (scope) this.#scopes.push(scope);
    const colon = qname.indexOf(":");
    const prefix = colon < 0 ? "" : qname.slice(0, colon);
    const local = colon < 0 ? qname : qname.slice(colon + 1);
    const ns = this.#resolve(prefix);
    if (ns === undefined) throw new MultistatusError(`undeclared namespace prefix '${prefix}'`);
    const parent = this.#stack[this.#stack.length - 1];
    this.#stack.push({ ns, local, scope });
    if (!this.#sawRoot) {
      if (ns !== DAV || local !== "multistatus") {
        throw new MultistatusError(`expected a DAV: multistatus, got <${qname}>`);
      }
      this.#sawRoot = true;
      return;
    }
    if (isLastUsed({ ns, local }, parent)) {
      this.#collectText = true;
      this.#text = "";
    }
    if (ns !== DAV || !parent || parent.ns !== DAV) return;
    this.#startDav(local, parent.local);
  }

  #startDav(local: string, parent: string): void {
    if (local === "response" && parent === "multistatus") {
      this.#res = {
        href: "",
        collection: false,
        size: -1,
        mtime: 0,
        lastUsed: 0,
        etag: "",
        failed: false,
      };
      this.#resStatus = 0;
      this.#anyOk = false;
    } else if (local === "propstat" && parent === "response") {
      this.#props = {};
      this.#propstatOk = false;
    } else if (
      (local === "href" && parent === "response") || (local === "status" &&
        (parent === "response" || parent === "propstat")) ||
      (parent === "prop" && TEXT_PROPS.has(local))
    ) {
      this.#collectText = true;
      this.#text = "";
    } else if (local === "collection" && parent === "resourcetype") {
      this.#props.collection = true;
    }
  }

  #close(qname: string | null): void {
    const el = this.#stack.pop();
    if (!el) throw new MultistatusError("unbalanced end tag");
    if (qname !== null) {
      const colon = qname.indexOf(":");
      const local = colon < 0 ? qname : qname.slice(colon + 1);
      const ns = this.#resolve(colon < 0 ? "" : qname.slice(0, colon));
      if (local !== el.local || ns !== el.ns) {
        throw new MultistatusError(`mismatched end tag </${qname}>`);
      }
    }
    if (el.scope) this.#scopes.pop();
    const parent = this.#stack[this.#stack.length - 1];
    if (!parent) {
      this.#done = true;
      return;
    }
    if (el.ns === DAV && parent.ns === DAV) this.#endDav(el.local, parent.local);
    else if (isLastUsed(el, parent)) {
      this.#collectText = false;
      if (this.#res) this.#props.lastUsed = Date.parse(this.#text.trim()) || 0;
    }
  }

  #endDav(local: string, parent: string): void {
    const text = this.#collectText ? this.#text.trim() : "";
    this.#collectText = false;
    const res = this.#res;
    if (!res) return;
    if (local === "href" && parent === "response") {
      if (res.href === "") res.href = text;
    } else if (local === "status" && parent === "response") {
      this.#resStatus = statusCode(text);
    } else if (local === "status" && parent === "propstat") {
      this.#propstatOk = statusCode(text) >= 200 && statusCode(text) < 300;
    } else if (parent === "prop") {
      if (local === "getcontentlength") this.#props.size = /^\d+$/.test(text) ? Number(text) : -1;
      else if (local === "getlastmodified") this.#props.mtime = Date.parse(text) || 0;
      else if (local === "getetag") this.#props.etag = text;
    } else if (local === "propstat" && parent === "response") {
      if (this.#propstatOk) {
        Object.assign(res, this.#props);
        this.#anyOk = true;
      }
    } else if (local === "response" && parent === "multistatus") {
      const ok = this.#anyOk || (this.#resStatus >= 200 && this.#resStatus < 300);
      res.failed = !ok;
      if (res.href === "") throw new MultistatusError("a response without an href");
      this.#out.push(res);
      this.#res = null;
    }
  }

  #resolve(prefix: string): string | undefined {
    for (let i = this.#scopes.length - 1; i >= 0; i--) {
      const uri = this.#scopes[i].get(prefix);
      if (uri !== undefined) return uri;
    }
    return prefix === "" ? "" : undefined;
  }
}

/** Whether `el` is the last-use property inside a `DAV:prop`. */
function isLastUsed(el: Pick<Element, "ns" | "local">, parent: Element | undefined): boolean {
  return el.ns === ISAR_NS && el.local === LAST_USED && parent?.ns === DAV &&
    parent.local === "prop";
}

/** Index of the `>` that ends the tag whose name starts at `from` (quotes respected), or -1. */
function tagEnd(buf: string, from: number): number {
  let quote = "";
  for (let i = from; i < buf.length; i++) {
    const c = buf[i];
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ">") return i;
  }
  return -1;
}

/** The attributes of a start tag (the part after its name). */
function* attributes(text: string): Generator<[string, string]> {
  const re = /([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
  for (const m of text.matchAll(re)) yield [m[1], decodeEntities(m[2] ?? m[3])];
}

/** The code of an HTTP status line such as `HTTP/1.1 404 Not Found`, or 0. */
function statusCode(line: string): number {
  const m = /^HTTP\/\S+\s+(\d{3})/.exec(line);
  return m ? Number(m[1]) : 0;
}

/** Parses a whole multistatus body. */
export function parseMultistatus(xml: string): DavResource[] {
  const parser = new MultistatusParser();
  return [...parser.push(xml), ...parser.end()];
}
