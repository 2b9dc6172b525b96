import assert from "node:assert/strict";
import { archivePathOf, artifactKind, parseArtifactName } from "../src/cache/artifact.ts";
import { parseAge } from "../src/cache/age.ts";
import { makeFilter } from "../src/cache/filter.ts";
import { isRemoteUrl, redactText, redactUrl, schemeOf } from "../src/backends/url.ts";

const HASH = "9d25db06" + "0".repeat(56);

Deno.test("artifact: parses Isar names, including arch-less specs and native subdirectories", () => {
  assert.deepEqual(
    parseArtifactName(
      `9d/25/sstate:isar-image-base:arm64-isar:1.0:r0:arm64:10:${HASH}_rootfs_install.tar.zst`,
    ),
    { pn: "isar-image-base", arch: "arm64", hash: HASH, task: "rootfs_install", suffix: "tar.zst" },
  );
  assert.deepEqual(
    parseArtifactName(`bb/92/sstate:hello::2.10:r0::10:${HASH}_fetch.tar.zst.siginfo`),
    { pn: "hello", arch: "", hash: HASH, task: "fetch", suffix: "tar.zst.siginfo" },
  );
  assert.equal(
    parseArtifactName(
      `debian-bookworm/9d/25/sstate:x:amd64-isar:1:r0:amd64:3:${HASH}_populate_sysroot.tgz`,
    )?.suffix,
    "tgz",
  );
});

Deno.test("artifact: bitbake temp files, locks and strangers are not artifacts", () => {
  const base = `9d/25/sstate:hello:arm64-isar:2.10:r0:arm64:10:${HASH}_dpkg_build`;
  for (
    const path of [
      `${base}.tar.zst.Ab3dE9xz`, // mktemp by Isar's sstate.bbclass
      `${base}.tar.zst.siginfo.lock`,
      `9d/25/sigtask.k2j3h4`,
      `9d/25/.${base.split("/")[2]}.tar.zst.isar-sstate-123.tmp`,
      `README`,
      `${base}`, // no suffix
    ]
  ) assert.equal(parseArtifactName(path), null, path);
  for (
    const suffix of ["tgz", "tgz.siginfo", "tgz.sig", "tar.zst", "tar.zst.siginfo", "tar.zst.sig"]
  ) {
    assert.equal(parseArtifactName(`${base}.${suffix}`)?.suffix, suffix);
  }
});

Deno.test("artifact: kinds and the archive a siginfo or signature belongs to", () => {
  assert.equal(artifactKind("tar.zst"), "archive");
  assert.equal(artifactKind("tgz.siginfo"), "siginfo");
  assert.equal(artifactKind("tar.zst.sig"), "signature");
  assert.equal(
    archivePathOf({ path: "a/x.tar.zst.siginfo", suffix: "tar.zst.siginfo" }),
    "a/x.tar.zst",
  );
  assert.equal(archivePathOf({ path: "a/x.tgz.sig", suffix: "tgz.sig" }), "a/x.tgz");
  assert.equal(archivePathOf({ path: "a/x.tgz", suffix: "tgz" }), "a/x.tgz");
});

Deno.test("age: units, unitless days, and rejects anything else", () => {
  assert.deepEqual(parseAge("2w", "MAX_AGE"), { seconds: 1209600, unitless: false });
  assert.deepEqual(parseAge("3h", "MAX_AGE"), { seconds: 10800, unitless: false });
  assert.deepEqual(parseAge("90m", "MAX_AGE").seconds, 5400);
  assert.deepEqual(parseAge("45s", "MAX_AGE").seconds, 45);
  assert.deepEqual(parseAge("7", "MAX_AGE"), { seconds: 604800, unitless: true });
  for (const bad of ["abc", "", "1x", "5dd", "-1d", "1.5d", " 1d"]) {
    assert.throws(() => parseAge(bad, "MAX_SIG_AGE"), /cannot parse MAX_SIG_AGE/, bad);
  }
});

Deno.test("filter: PN regex anchored at the start only, arch exact", () => {
  const f = makeFilter("(hello|libfoo)");
  assert.equal(f({ pn: "hello", arch: "arm64" }), true);
  assert.equal(f({ pn: "libfoo-dev", arch: "arm64" }), true, "re.match matches a prefix");
  assert.equal(f({ pn: "foo-app", arch: "arm64" }), false);
  assert.equal(f({ pn: "xhello", arch: "arm64" }), false);
  const g = makeFilter("(hello|foo-app)$", "arm64");
  assert.equal(g({ pn: "foo-app", arch: "arm64" }), true);
  assert.equal(g({ pn: "foo-app", arch: "amd64" }), false);
  assert.equal(g({ pn: "foo-apps", arch: "arm64" }), false);
  assert.equal(makeFilter("(?P<x>lib)(?P=x)?")({ pn: "libfoo", arch: "" }), true, "Python syntax");
  assert.throws(() => makeFilter("(unclosed"), /invalid --filter regex/);
});

Deno.test("filter: Python-only regex syntax means what it means in Python", () => {
  const pn = (regex: string, name: string) => makeFilter(regex)({ pn: name, arch: "" });
  assert.equal(pn("hello\\Z", "hello"), true);
  assert.equal(pn("hello\\Z", "hello-dev"), false, "\\Z is the end, not a literal Z");
  assert.equal(pn("\\Ahello", "hello"), true);
  assert.equal(pn("(?i)HELLO", "hello"), true);
  assert.equal(pn("(?!foo\\Z)", "foo"), false, "spares exactly foo");
  assert.equal(pn("(?!foo\\Z)", "foobar"), true);
  assert.equal(pn("x{,2}y", "xxy"), true);
  assert.equal(pn("x{,2}y", "xxxy"), false);
  assert.equal(pn("hel(?# a comment)lo", "hello"), true);
  assert.equal(pn("a\\\\Z", "a\\Z"), true, "an escaped backslash stays literal");
  assert.equal(pn("(?x) hel lo  # the recipe", "hello"), true, "(?x) drops blanks and comments");
  assert.equal(pn("(?x)hel[ ]lo", "hel lo"), true, "but not inside a class");
  assert.equal(pn("(?u)hello", "hello"), true);
  assert.equal(pn("(?ai)HELLO", "hello"), true);
  assert.throws(() => makeFilter("(?L)hello"), /LOCALE/);
  assert.throws(() => makeFilter("\\p{L}+"), /bad escape \\p/, "Python rejects \\p");
  assert.throws(() => makeFilter("hel\\qlo"), /bad escape/);
  assert.equal(pn("a\\tb", "a\tb"), true, "known escapes keep their meaning");
});

Deno.test("filter: what Python rejects is rejected, what it reads means the same", () => {
  const pn = (regex: string, name: string) => makeFilter(regex)({ pn: name, arch: "" });
  const rejected: [string, RegExp][] = [
    ["(?<n>a)", /unknown extension \?<n/],
    ["\\x4", /incomplete escape \\x4/],
    ["\\u00e", /incomplete escape \\u00e/],
    ["\\8", /invalid group reference 8/],
    ["(a)\\2", /invalid group reference 2/],
    ["[a-\\d]", /bad character range a-\\d/],
    ["[\\w-z]", /bad character range \\w-z/],
    ["\\N{LATIN SMALL LETTER A}", /named characters/],
  ];
  for (const [regex, message] of rejected) {
    assert.throws(() => makeFilter(regex), message, regex);
  }
  assert.equal(pn("(a)\\1", "aa"), true, "a reference to an existing group");
  assert.equal(pn("(a)\\1", "ab"), false);
  assert.equal(pn("\\x41", "A"), true);
  assert.equal(pn("\\101", "A"), true, "three octal digits are a character");
  assert.equal(pn("a\\0", "a\0"), true);
  assert.equal(pn("[\\w-]+x", "a-b-x"), true, "a dash at the end of a class is literal");
  assert.equal(pn("[-\\d]+x", "1-2x"), true, "and at its start");
  assert.equal(pn("[]a]+x", "]a]x"), true, "a ] first in a class is a member");
  assert.equal(pn("[^]a]x", "bx"), true);
  assert.equal(pn("[(?P<]x", "<x"), true, "no translation inside a class");
  assert.equal(pn("(?<=a)b|c", "c"), true, "look-behind is not a named group");
});

Deno.test("filter: empty --filter and --arch select everything, as in the Python tool", () => {
  const all = makeFilter("", "");
  assert.equal(all({ pn: "hello", arch: "arm64" }), true);
  assert.equal(all({ pn: "", arch: "" }), true);
  assert.equal(makeFilter("", "arm64")({ pn: "x", arch: "amd64" }), false);
});

Deno.test("url: credentials and signatures are redacted, schemes recognised", () => {
  assert.equal(
    redactUrl("https://user:secret@dav.example/sstate"),
    "https://user:***@dav.example/sstate",
  );
  assert.equal(
    redactUrl("s3://bucket/p?X-Amz-Signature=abc&x=1"),
    "s3://bucket/p?X-Amz-Signature=***&x=1",
  );
  assert.equal(redactUrl("/plain/path"), "/plain/path");
  assert.equal(redactUrl("https://u:se@cret@host/p"), "https://u:***@host/p");
  assert.equal(redactUrl("https://u:se/cret@host/p"), "https://u:***@host/p");
  assert.equal(redactUrl("https:/u:secret@host/p"), "https:/u:***@host/p");
  assert.equal(redactUrl("https://host/p@1"), "https://host/p@1", "no password, nothing hidden");
  assert.equal(schemeOf("/plain/path"), "file");
  assert.equal(schemeOf("HTTPS://host/x"), "https");
});

Deno.test("url: every URL quoted in a message is redacted; only other schemes are remote", () => {
  assert.equal(
    redactText("unrecognized arguments: a https://u:pw@h/x 's3://k:pw@b/p': ftp:/u:pw@h"),
    "unrecognized arguments: a https://u:***@h/x 's3://k:***@b/p': ftp:/u:***@h",
  );
  assert.equal(redactText("ERROR: sstate:a:b:c@d: reason"), "ERROR: sstate:a:b:c@d: reason");
  assert.equal(
    redactText("cannot access https://u:pw@h/x: HTTP 401"),
    "cannot access https://u:***@h/x: HTTP 401",
  );
  for (const remote of ["https://h/x", "s3://b", "https:/h/x", "FTP://h"]) {
    assert.ok(isRemoteUrl(remote), remote);
  }
  for (const local of ["/a/b", "rel/dir", "file:///a", "file://rel", "./https:/x"]) {
    assert.ok(!isRemoteUrl(local), local);
  }
});
