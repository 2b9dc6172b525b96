/** The compact table of a cache's artifacts that `clean` plans on (src/cache/artifact_table.ts). */
import assert from "node:assert/strict";
import { type Artifact, parseArtifactName } from "../src/cache/artifact.ts";
import { ArtifactTable } from "../src/cache/artifact_table.ts";

const HASH = "0123456789abcdef".repeat(4);
const name = (hash = HASH, suffix = "tar.zst", pn = "hello", task = "dpkg_build") =>
  `sstate:${pn}:arm64-isar:1.0:r0:arm64:10:${hash}_${task}.${suffix}`;
const usual = (hash = HASH, rest = name(hash)) => `${hash.slice(0, 2)}/${hash.slice(2, 4)}/${rest}`;

function artifact(path: string, size = 1, mtime = 1_700_000_000_123, extra = {}): Artifact {
  return { path, size, mtime, ...parseArtifactName(path)!, ...extra };
}

const PATHS = [
  usual(),
  usual(HASH, name(HASH, "tar.zst.siginfo")),
  usual(HASH, name(HASH, "tar.zst.sig")),
  usual(HASH, name(HASH, "tgz", "hello-dev")),
  `01/24/${name()}`, // not the hash's directory
  `universal/${usual()}`,
  name(), // in the root
  `a:b/${name()}`,
  `01/23/${name(HASH.toUpperCase().replace(/[A-F]/g, "f"))}`,
  `ab/cd/${name("abcd")}`, // a short hash, kept as text
  `aa/bb/${name("")}`, // no hash at all
  `01/23/${name(HASH, "tgz.siginfo", "h\u20acllo")}`, // beyond Latin-1
  `01/23/${name(HASH, "tgz.siginfo", "x", "do_task:with:colons")}`,
];

Deno.test("artifact table: paths, hashes, kinds, sizes and last uses as added", () => {
  const table = new ArtifactTable();
  PATHS.forEach((path, i) =>
    table.add(
      artifact(path, i === 3 ? 5 * 2 ** 32 + 7 : i, 1000 + i, i === 1 ? { lastUsed: 9e12 } : {}),
    )
  );
  assert.equal(table.length, PATHS.length);
  PATHS.forEach((path, row) => {
    const a = artifact(path);
    assert.equal(table.path(row), path);
    assert.equal(table.hash(row), a.hash);
    assert.equal(table.head(row), path.slice(path.lastIndexOf("/") + 1).split(a.hash + "_")[0]);
    assert.equal(
      table.kind(row),
      a.suffix.endsWith("siginfo") ? "siginfo" : a.suffix.endsWith("sig") ? "signature" : "archive",
    );
    assert.equal(table.size(row), row === 3 ? 5 * 2 ** 32 + 7 : row);
    assert.equal(table.lastUse(row), row === 1 ? 9e12 : 1000 + row);
  });
});

Deno.test("artifact table: the archive of a siginfo or signature, where the table has it", () => {
  const table = new ArtifactTable();
  const paths = [
    usual(HASH, name(HASH, "tar.zst.siginfo")),
    usual(HASH, name(HASH, "tar.zst.sig")),
    usual(HASH, name(HASH, "tgz.siginfo")), // its archive (tgz) is not listed
    `ab/cd/${name("abcd", "tgz.siginfo")}`,
    `ab/cd/${name("abcd", "tgz")}`,
    `x/${usual(HASH, name(HASH, "tar.zst.siginfo"))}`, // another directory
    usual(HASH, name(HASH, "tar.zst")),
  ];
  for (const path of paths) table.add(artifact(path, 1, 1, { isLink: path.startsWith("x/") }));
  assert.deepEqual([0, 1, 2, 3, 5].map((row) => table.archiveOf(row)), [6, 6, -1, 4, -1]);
  assert.ok(table.isLink(5) && !table.isLink(0));
  for (let i = 0; i < 40_000; i++) {
    const hash = i.toString(16).padStart(64, "0");
    table.add(artifact(usual(hash, name(hash, "tgz"))));
    table.add(artifact(usual(hash, name(hash, "tgz.siginfo"))));
  }
  assert.equal(table.archiveOf(table.length - 1), table.length - 2);
  assert.equal(
    table.path(table.length - 1),
    usual("9c3f".padStart(64, "0"), name("9c3f".padStart(64, "0"), "tgz.siginfo")),
  );
  assert.ok(table.bytes < table.length * 80, `${table.bytes / table.length} bytes per row`);
});

Deno.test("artifact table: directories and tails beyond their bits, last uses beyond ms", () => {
  const table = new ArtifactTable();
  const paths: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const hash = i.toString(16).padStart(64, "0");
    paths.push(`d${i}/${name(hash, "tgz")}`, `d${i}/${name(hash, "tgz.siginfo", "x", `t${i}`)}`);
    paths.push(`d${i}/${name(hash, "tgz.siginfo")}`);
  }
  const uses = [-5, 1.5, 2 ** 45, 0, 1_700_000_000_999, 2 ** 32 * 1000 + 1];
  paths.forEach((path, i) => table.add(artifact(path, 1, uses[i % uses.length])));
  paths.forEach((path, row) => {
    assert.equal(table.path(row), path);
    assert.equal(table.lastUse(row), Math.max(uses[row % uses.length], 0)); // see lastUseOf
  });
  assert.equal(table.archiveOf(paths.length - 1), paths.length - 3);
  assert.equal(table.archiveOf(paths.length - 2), -1, "another task");
});
