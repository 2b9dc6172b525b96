/** PROPFIND responses as servers write them: prefixes, namespaces, entities, split anywhere. */
import assert from "node:assert/strict";
import {
  type DavResource,
  MultistatusError,
  MultistatusParser,
  parseMultistatus,
} from "../src/backends/webdav/xml.ts";

/** Apache 2.4's style: `D:` plus `lp1:` for live properties, the 404 propstat last. */
const APACHE = `<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:" xmlns:ns0="DAV:">
<D:response xmlns:lp1="DAV:" xmlns:lp2="http://apache.org/dav/props/" xmlns:g0="DAV:">
<D:href>/sstate/ab/</D:href>
<D:propstat>
<D:prop>
<lp1:resourcetype><D:collection/></lp1:resourcetype>
<lp1:getlastmodified>Sat, 28 Nov 2026 20:56:56 GMT</lp1:getlastmodified>
<lp1:getetag>W/"1000-6615c6c8016a1"</lp1:getetag>
</D:prop>
<D:status>HTTP/1.1 200 OK</D:status>
</D:propstat>
<D:propstat>
<D:prop>
<g0:getcontentlength/>
</D:prop>
<D:status>HTTP/1.1 404 Not Found</D:status>
</D:propstat>
</D:response>
<D:response xmlns:lp1="DAV:" xmlns:lp2="http://apache.org/dav/props/">
<D:href>/sstate/ab/sstate%3Ahello%3A%3A1.0%3Ar0%3A%3A10%3Aab12_dpkg_build.tar.zst</D:href>
<D:propstat>
<D:prop>
<lp1:resourcetype/>
<lp1:getcontentlength>4096</lp1:getcontentlength>
<lp1:getlastmodified>Sat, 28 Nov 2026 20:55:58 GMT</lp1:getlastmodified>
</D:prop>
<D:status>HTTP/1.1 200 OK</D:status>
</D:propstat>
</D:response>
</D:multistatus>`;

const T1 = Date.parse("Sat, 28 Nov 2026 20:56:56 GMT");
const T2 = Date.parse("Sat, 28 Nov 2026 20:55:58 GMT");

const pick = (r: DavResource) => [r.href, r.collection, r.size, r.mtime, r.failed];

Deno.test("webdav xml: Apache's multistatus with two propstats per collection", () => {
  const rs = parseMultistatus(APACHE);
  assert.deepEqual(rs.map(pick), [
    ["/sstate/ab/", true, -1, T1, false],
    [
      "/sstate/ab/sstate%3Ahello%3A%3A1.0%3Ar0%3A%3A10%3Aab12_dpkg_build.tar.zst",
      false,
      4096,
      T2,
      false,
    ],
  ]);
  assert.equal(rs[0].etag, 'W/"1000-6615c6c8016a1"');
});

Deno.test("webdav xml: a 404 propstat first, other prefixes, a default namespace", () => {
  const xml = `<?xml version="1.0"?>
<!-- written by some other server -->
<multistatus xmlns="DAV:"><response>
  <href>1e5</href>
  <propstat><prop><getcontentlength/></prop><status>HTTP/1.1 404 Not Found</status></propstat>
  <propstat><prop><x:getcontentlength xmlns:x="DAV:">0012</x:getcontentlength>
    <resourcetype/></prop><status>HTTP/1.1 200 OK</status></propstat>
</response>
<a:response xmlns:a="DAV:"><a:href>d%C3%BCr/</a:href><a:propstat><a:prop>
  <a:resourcetype><a:collection/></a:resourcetype></a:prop>
  <a:status>HTTP/1.1 200 OK</a:status></a:propstat></a:response>
</multistatus>`;
  assert.deepEqual(parseMultistatus(xml).map(pick), [
    ["1e5", false, 12, 0, false],
    ["d%C3%BCr/", true, -1, 0, false],
  ]);
});

Deno.test("webdav xml: elements of other namespaces do not count, whatever their prefix", () => {
  const xml = `<D:multistatus xmlns:D="DAV:" xmlns:E="urn:other"><D:response>
  <D:href>/a</D:href><D:propstat><D:prop>
  <E:getcontentlength>99</E:getcontentlength><D:getcontentlength>7</D:getcontentlength>
  <D:resourcetype><E:collection/></D:resourcetype>
  </D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`;
  assert.deepEqual(parseMultistatus(xml).map(pick), [["/a", false, 7, 0, false]]);
});

Deno.test("webdav xml: entities, character references and CDATA in hrefs", () => {
  const xml = `<D:multistatus xmlns:D='DAV:'>
<D:response><D:href>/a&amp;b&#x2F;c&#37;20<![CDATA[<d>]]></D:href>
<D:status>HTTP/1.1 200 OK</D:status></D:response>
<D:response><D:href>/gone</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>
</D:multistatus>`;
  assert.deepEqual(parseMultistatus(xml).map((r) => [r.href, r.failed]), [
    ["/a&b/c%20<d>", false],
    ["/gone", true],
  ]);
});

Deno.test("webdav xml: fed in pieces, split at every position, it reads the same", () => {
  const whole = parseMultistatus(APACHE);
  for (let cut = 1; cut < APACHE.length; cut++) {
    const parser = new MultistatusParser();
    const rs = [...parser.push(APACHE.slice(0, cut)), ...parser.push(APACHE.slice(cut))];
    rs.push(...parser.end());
    assert.deepEqual(rs, whole, `split at ${cut}`);
  }
  // And one character at a time.
  const parser = new MultistatusParser();
  const rs = [...APACHE].flatMap((c) => parser.push(c));
  assert.deepEqual([...rs, ...parser.end()], whole);
});

Deno.test("webdav xml: responses are handed out as soon as they are complete", () => {
  const parser = new MultistatusParser();
  const firstEnd = APACHE.indexOf("</D:response>") + "</D:response>".length;
  assert.equal(parser.push(APACHE.slice(0, firstEnd - 1)).length, 0);
  assert.equal(parser.push(APACHE.slice(firstEnd - 1, firstEnd)).length, 1);
  assert.equal(parser.push(APACHE.slice(firstEnd)).length, 1);
  assert.deepEqual(parser.end(), []);
});

Deno.test("webdav xml: malformed or foreign bodies are errors", () => {
  const bad = [
    "",
    "<html><body>403 Forbidden</body></html>",
    '<D:multistatus xmlns:D="DAV:"><D:response><D:href>/a</D:href>',
    '<D:multistatus xmlns:D="DAV:"><D:response></D:multistatus>',
    "<X:multistatus><X:response/></X:multistatus>",
    '<D:multistatus xmlns:D="DAV:"><D:response><D:status>HTTP/1.1 200 OK</D:status>' +
    "</D:response></D:multistatus>",
    '<!DOCTYPE x [<!ENTITY a "b">]><D:multistatus xmlns:D="DAV:"/>',
    '<D:multistatus xmlns:D="DAV:"/><D:multistatus xmlns:D="DAV:"/>',
  ];
  for (const xml of bad) assert.throws(() => parseMultistatus(xml), MultistatusError, xml);
  assert.deepEqual(parseMultistatus('<D:multistatus xmlns:D="DAV:"/>'), []);
});
