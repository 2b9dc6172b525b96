import assert from "node:assert/strict";
import { compareSigfiles } from "../src/siginfo/compare.ts";
import { cleanBasepath } from "../src/siginfo/display.ts";
import { readSiginfoFile } from "../src/siginfo/read.ts";
import { listInlineDiff, wordDiff } from "../src/siginfo/textdiff.ts";
import { colors } from "../src/siginfo/colors.ts";
import type { SigInfo } from "../src/siginfo/types.ts";
import { assertMatchesGolden, fixturePairs, SIGINFO_DATA } from "./data/siginfo/golden.ts";

async function readPair(pair: string): Promise<[SigInfo, SigInfo]> {
  const dir = `${SIGINFO_DATA}${pair}`;
  return [await readSiginfoFile(`${dir}/a.siginfo`), await readSiginfoFile(`${dir}/b.siginfo`)];
}

/** A small run-time signature; `overrides` replace fields. */
function sig(overrides: Partial<SigInfo> = {}): SigInfo {
  return {
    format: "json",
    legacy_names: false,
    task: "do_x",
    basehash_ignore_vars: new Set(["IGN"]),
    taskhash_ignore_tasks: null,
    taskdeps: ["V"],
    basehash: "b1",
    gendeps: { V: new Set() },
    varvals: { V: "1", do_x: "run" },
    runtaskdeps: [],
    file_checksum_values: [],
    runtaskhashes: {},
    ...overrides,
  };
}

for (const pair of fixturePairs()) {
  Deno.test(`compareSigfiles ${pair}: diff.txt`, async () => {
    const [a, b] = await readPair(pair);
    assertMatchesGolden(await compareSigfiles(a, b), `${SIGINFO_DATA}${pair}/diff.txt`);
  });
  Deno.test(`compareSigfiles ${pair}: diff.color.txt`, async () => {
    const [a, b] = await readPair(pair);
    const out = await compareSigfiles(a, b, { color: true });
    assertMatchesGolden(out, `${SIGINFO_DATA}${pair}/diff.color.txt`);
  });
}

Deno.test("recursion: the first dependency with output replaces all but its own line", async () => {
  const [a, b] = await readPair("head/image-deps-changed");
  const calls: string[][] = [];
  const out = await compareSigfiles(a, b, {
    recurse: (key, hashA, hashB) => {
      calls.push([key, hashA, hashB]);
      return Promise.resolve(key.startsWith("libfoo") ? ["nested 1", "nested 2"] : []);
    },
  });
  assert.deepEqual(calls.map((c) => c[0]), ["libbar:do_deploy_deb", "libfoo:do_deploy_deb"]);
  assert.deepEqual(calls[1].slice(1), [
    "079111c9425d84cfd79c91e9577a18cf270d2abf8ab4454d31cb0b08e0cd6be8",
    "e56e5a092ffb0ae3ab6d7712702ffc0c53ef0a7269eac620b02ea112c0f17ec7",
  ]);
  assert.deepEqual(out, [
    "Hash for task dependency libfoo:do_deploy_deb changed from " +
    "079111c9425d84cfd79c91e9577a18cf270d2abf8ab4454d31cb0b08e0cd6be8 to " +
    "e56e5a092ffb0ae3ab6d7712702ffc0c53ef0a7269eac620b02ea112c0f17ec7",
    "nested 1",
    "nested 2",
  ]);
});

Deno.test("recursion: bitbake 1.50 passes the shortened task id", async () => {
  const [a, b] = await readPair("2022/propagated-same-recipe");
  const out = await compareSigfiles(a, b, { recurse: (key) => Promise.resolve([`in ${key}`]) });
  assert.equal(out.length, 2);
  assert.match(out[0], /^Hash for dependent task hello\/hello_2\.10\.bb:do_local_isarapt changed/);
  assert.equal(out[1], "in hello/hello_2.10.bb:do_local_isarapt");
});

Deno.test("collapsed: no basehash, runtaskdeps or dependency lines; all recursion output kept", async () => {
  const [a, b] = await readPair("head/image-deps-changed");
  const out = await compareSigfiles(a, b, {
    collapsed: true,
    recurse: (key) => Promise.resolve([`in ${key}`]),
  });
  assert.equal(out.length, 5);
  assert.match(out[0], /^basehash_ignore_vars changed from/);
  assert.deepEqual(out.slice(1), [
    "changed items: frozenset({'DEB_BUILD_PROFILES'})",
    "taskhash_ignore_tasks changed from 'None' to '^lab-tool-native$'",
    "in libbar:do_deploy_deb",
    "in libfoo:do_deploy_deb",
  ]);
  const [c, d] = await readPair("head/var-words");
  assert.deepEqual(await compareSigfiles(c, d, { collapsed: true }), [
    'Variable DEBIAN_DEPENDS value changed:\n"[-libc6-] {+libc6, libgcc-s1+}"',
  ]);
});

Deno.test("file checksums: changed, added, removed and duplicates", async () => {
  const a = sig({ file_checksum_values: [["f1", "1"], ["f2", "2"], ["f2", "2"], ["f4", null]] });
  const b = sig({ file_checksum_values: [["f1", "9"], ["f3", "3"], ["f2", "2"], ["f4", "4"]] });
  assert.deepEqual(await compareSigfiles(a, b), [
    "Checksum for file f1 changed from 1 to 9",
    "Checksum for file f4 changed from None to 4",
    "Dependency on checksum of file f3 was added",
    "Dependency on checksum of file f2 was removed",
  ]);
});

Deno.test("task dependencies: added, removed, renamed with the same hash", async () => {
  const a = sig({ runtaskdeps: ["x"], runtaskhashes: { x: "1" } });
  assert.deepEqual(
    await compareSigfiles(a, sig({ runtaskdeps: ["z"], runtaskhashes: { z: "2" } })),
    [
      "runtaskdeps changed:\n[-x, +z]",
      "x with hash 1\n changed to\nz with hash 2",
      "Dependency on task z was added with hash 2",
      "Dependency on task x was removed with hash 1",
    ],
  );
  assert.deepEqual(
    await compareSigfiles(a, sig({ runtaskdeps: ["z"], runtaskhashes: { z: "1" } })),
    [],
  );
});

Deno.test("variables: dependency sets, None values, taint", async () => {
  const a = sig({ gendeps: { V: new Set() }, varvals: { V: null, do_x: "run" } });
  const b = sig({
    gendeps: { V: new Set(["A"]), W: new Set() },
    varvals: { V: "x y", do_x: "run" },
    taint: "nostamp:1234",
  });
  assert.deepEqual(await compareSigfiles(a, b), [
    "List of dependencies for variable V changed from 'frozenset()' to 'frozenset({'A'})'",
    "Dependency on variable W was added",
    "Variable V value changed from 'None' to 'x y'",
    "Taint (by forced/invalidated task) changed from None to nostamp(uuid4):1234",
  ]);
  const old = { format: "pickle", legacy_names: true } as const;
  assert.deepEqual((await compareSigfiles({ ...a, ...old }, { ...b, ...old })).slice(0, 1), [
    "List of dependencies for variable V changed from 'set()' to '{'A'}'",
  ]);
});

Deno.test("ignore lists: ignored variables' dependency changes are not reported", async () => {
  const a = sig({ basehash_ignore_vars: new Set(["V"]), gendeps: { V: new Set(["A"]) } });
  const b = sig({ basehash_ignore_vars: new Set(["V"]), gendeps: { V: new Set(["B"]) } });
  assert.deepEqual(await compareSigfiles(a, b), []);
});

Deno.test("word diff: whitespace-only changes are noted", () => {
  const c = colors(false);
  assert.equal(wordDiff("a  b", "a b", c), '"a [--] b" (whitespace changed)');
  assert.equal(wordDiff("a b c", "a x c", c), '"a [-b-] {+x+} c"');
  assert.equal(wordDiff("a\tb", "a b", c), '"[-a\tb-] {+a b+}" (whitespace changed)');
});

Deno.test("list inline diff: a run of kept items shares one pair of quotes, like bitbake's", () => {
  assert.equal(listInlineDiff(["a", "b", "c"], ["a", "b", "d"], colors(false)), "['a b', -c, +d]");
  assert.equal(
    listInlineDiff(["a"], ["b"], colors(true)),
    "[\x1b[0;31m-a\x1b[0m, \x1b[0;32m+b\x1b[0m]",
  );
});

Deno.test("cleanBasepath shortens bitbake 1.x task ids", () => {
  assert.equal(cleanBasepath("/w/meta/recipes/foo/foo_1.0.bb:do_x"), "foo/foo_1.0.bb:do_x");
  assert.equal(
    cleanBasepath("virtual:native:/w/recipes/foo/foo.bb:do_x"),
    "foo/foo.bb:do_x:virtual:native",
  );
  assert.equal(
    cleanBasepath("mc:mc1:virtual:native:/w/r/foo/foo.bb:do_x"),
    "foo/foo.bb:do_x:virtual:native:mc:mc1",
  );
  assert.equal(cleanBasepath("mc:mc1:/w/r/foo/foo.bb:do_x"), "foo/foo.bb:do_x:mc:mc1");
  assert.equal(cleanBasepath("foo:do_x"), "foo:do_x");
});
