/** The compact path set and its interner (src/cache/path_set.ts, src/cache/interner.ts). */
import assert from "node:assert/strict";
import { Column } from "../src/cache/column.ts";
import { Interner } from "../src/cache/interner.ts";
import { ABSENT, FLAGGED, PathSet, PRESENT } from "../src/cache/path_set.ts";

const HASH = "0123456789abcdef".repeat(4);
const name = (hash = HASH, task = "dpkg_build", suffix = "tar.zst", pn = "hello") =>
  `sstate:${pn}:arm64-isar:1.0:r0:arm64:10:${hash}_${task}.${suffix}`;
const usual = (hash = HASH, rest = name(hash)) => `${hash.slice(0, 2)}/${hash.slice(2, 4)}/${rest}`;

/** Paths that differ from each other in one detail each, artifacts and others. */
const PATHS = [
  usual(),
  usual(HASH, name(HASH, "dpkg_build", "tar.zst.siginfo")),
  usual(HASH, name(HASH, "deploy_deb")),
  usual(HASH, name(HASH, "dpkg_build", "tar.zst", "hello-dev")),
  usual(HASH.slice(0, 63) + "0"),
  usual(HASH.slice(0, 63) + "0").replace("01/23/", "01/24/"), // not the hash's directory
  `universal/${usual()}`,
  `debian-bookworm-x86_64/${usual()}`,
  name(), // in the root
  `a:b/${name()}`, // a colon before the name
  `01/23/${name(HASH.toUpperCase())}`, // not lower-case hex: kept as it is
  `01/23/${name(HASH.slice(1))}`, // 63 digits
  `01/23/${name(HASH, "dpkg_build", "tar.zst", "h€llo")}`, // beyond Latin-1
  `01/23/${name(HASH, "dpkg_build", "tar.zst", "héllo")}`, // Latin-1
  `01/23/${name(HASH, "dpkg_build", "tar.zst", "h\u{1F600}llo")}`, // beyond 16 bits
  "01/23/.sstate:x.isar-sstate.host.1.2.tmp",
  "notes.txt",
  "a/b",
];

Deno.test("path set: holds exactly what was added, and gives it back", () => {
  const set = new PathSet();
  for (const path of PATHS) set.add(path);
  set.add(PATHS[0]); // twice: once in the set
  assert.equal(set.size, PATHS.length);
  assert.deepEqual([...set].sort(), [...PATHS].sort());
  for (const path of PATHS) assert.equal(set.state(path), PRESENT, path);
  for (const path of PATHS) {
    for (const other of [path + "x", path.slice(0, -1), `x${path}`, path.replace("1.0", "1.1")]) {
      if (!PATHS.includes(other)) assert.equal(set.has(other), false, other);
    }
  }
  assert.equal(set.has(usual("f".repeat(64))), false, "a hash never seen");
});

Deno.test("path set: delete, add again, flags", () => {
  const set = new PathSet();
  for (const path of PATHS) set.add(path, true);
  assert.equal(set.state(PATHS[0]), FLAGGED);
  set.add(PATHS[0]); // confirmed
  set.add(PATHS[0], true); // stays confirmed
  set.add("notes.txt");
  assert.equal(set.state(PATHS[0]), PRESENT);
  set.delete(PATHS[1]);
  set.delete("a/b");
  assert.equal(set.state(PATHS[1]), ABSENT);
  assert.equal(set.size, PATHS.length - 2);
  set.add(PATHS[1]);
  assert.equal(set.state(PATHS[1]), PRESENT);
  set.deleteFlagged();
  assert.deepEqual([...set].sort(), [PATHS[0], PATHS[1], "notes.txt"].sort());
  set.flagAll();
  assert.equal(set.state("notes.txt"), FLAGGED);
  assert.equal(set.state(PATHS[1]), FLAGGED);
  set.deleteFlagged();
  assert.equal(set.size, 0);
  assert.deepEqual([...set], []);
});

Deno.test("path set: the paths of one set that another (same interner) lacks", () => {
  const index = new PathSet();
  const held = new PathSet(index.interner);
  PATHS.forEach((path, i) => (i % 2 ? index : held).add(path));
  for (const path of PATHS.slice(0, 4)) index.add(path);
  const expected = PATHS.filter((_, i) => i % 2 === 0 && i >= 4);
  assert.deepEqual([...held.notIn(index)].sort(), expected.sort());
  const artifacts = held.notIn(index);
  assert.deepEqual(
    [artifacts.next().value, artifacts.next().value],
    [PATHS[4], PATHS[6]],
    "in order",
  );
  assert.throws(() => [...held.notIn(new PathSet())], /different interners/);
});

Deno.test("path set: under 80 bytes per path (table and interner included), across chunks", () => {
  const set = new PathSet();
  const n = 200_000;
  const hashOf = (i: number) => (i * 2654435761 >>> 0).toString(16).padStart(8, "0").repeat(8);
  const pathOf = (i: number) =>
    usual(hashOf(i), name(hashOf(i), i % 3 ? "package" : "dpkg_build", "tar.zst", `pkg${i >> 3}`));
  for (let i = 0; i < n; i++) set.add(pathOf(i));
  assert.equal(set.size, n);
  for (let i = 0; i < n; i += 997) assert.ok(set.has(pathOf(i)), pathOf(i));
  assert.equal(set.has(pathOf(n)), false);
  for (let i = 0; i < n; i += 2) set.delete(pathOf(i));
  assert.equal(set.size, n / 2);
  assert.ok(set.has(pathOf(1)) && !set.has(pathOf(2)));
  const perPath = set.bytes / n;
  assert.ok(perPath < 80, `${perPath.toFixed(1)} bytes per path`);
});

Deno.test("interner: numbers from 0, ranges of longer strings, restored from its parts", () => {
  const interner = new Interner();
  assert.equal(interner.id("abc"), 0);
  assert.equal(interner.id("xxabcxx", 2, 5), 0);
  assert.equal(interner.id("abd", 0, 3, false), -1);
  assert.equal(interner.id("a€ü"), 1);
  for (let i = 0; i < 5000; i++) assert.equal(interner.id(`s${i}`), i + 2);
  assert.equal(interner.text(4001), "s3999");
  const { starts, bytes } = interner.parts();
  const copy = Interner.restore(starts, bytes);
  assert.equal(copy.count, 5002);
  assert.equal(copy.id("s4321", 0, 5, false), 4323);
  assert.equal(copy.id("abc", 0, 3, false), 0);
  assert.equal(copy.text(1), "a€ü");
  assert.throws(() => Interner.restore(new Uint32Array([0, 5]), new Uint8Array(4)), /damaged/);
});

Deno.test("path set: entry numbers stay while a path is held; a path added again gets a new one", () => {
  const set = new PathSet();
  const entries = PATHS.map((path) => set.add(path));
  PATHS.forEach((path, i) => assert.equal(set.entryOf(path), entries[i], path));
  assert.equal(set.entryOf("notes.txt"), -1, "kept as it is");
  assert.equal(set.entryOf(usual("f".repeat(64))), -1, "not held");
  const first = set.entryOf(usual());
  assert.ok(first >= 0);
  for (let i = 0; i < 40_000; i++) set.add(usual(i.toString(16).padStart(64, "0")));
  assert.equal(set.entryOf(usual()), first, "after the table grew");
  set.delete(usual());
  assert.equal(set.entryOf(usual()), -1);
  assert.notEqual(set.add(usual()), first);
});

Deno.test("column: numbers by entry across chunks, empty where never set", () => {
  const times = new Column(Float64Array, NaN);
  assert.ok(Number.isNaN(times.get(5)));
  assert.equal(times.bytes, 0);
  times.set(100_000, 1_700_000_000_123.5);
  times.set(3, 7);
  assert.equal(times.get(100_000), 1_700_000_000_123.5);
  assert.equal(times.get(3), 7);
  assert.ok(Number.isNaN(times.get(99_999)) && Number.isNaN(times.get(1 << 20)));
  assert.equal(times.bytes, 2 * (1 << 14) * 8, "only the chunks set");
  const sizes = new Column(Uint32Array);
  sizes.set(0, 4_000_000_000);
  assert.equal(sizes.get(0), 4_000_000_000);
  assert.equal(sizes.get(1), 0);
});

Deno.test("interner: Latin-1 strings as bytes, others beside them, across growth", () => {
  const interner = new Interner();
  const texts = ["", "a", "\u00ff\u00e9", "\u20ac", "x".repeat(10_000), "\u{1F600}", "é"];
  for (let i = 0; i < 20_000; i++) {
    texts.push(`sstate:recipe-${i}:`, `caf\u00e9-${i}`, `\u20ac${i}`);
  }
  const ids = texts.map((text) => interner.id(`<${text}>`, 1, text.length + 1));
  texts.forEach((text, i) => {
    assert.equal(interner.text(ids[i]), text);
    assert.equal(interner.id(text, 0, text.length, false), ids[i]);
  });
  assert.equal(new Set(ids).size, new Set(texts).size);
  assert.equal(interner.id("absent", 0, 6, false), -1);
  assert.equal(interner.id("\u20acabsent", 0, 7, false), -1);
  const { starts, bytes } = interner.parts();
  const restored = Interner.restore(starts, bytes);
  texts.forEach((text, i) => assert.equal(restored.text(ids[i]), text));
});
