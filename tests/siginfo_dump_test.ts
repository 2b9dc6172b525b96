import assert from "node:assert/strict";
import { dumpSigfile } from "../src/siginfo/dump.ts";
import { calcTaskhash } from "../src/siginfo/hash.ts";
import { readSiginfoFile } from "../src/siginfo/read.ts";
import type { SigInfo } from "../src/siginfo/types.ts";
import { assertMatchesGolden, fixturePairs, SIGINFO_DATA } from "./data/siginfo/golden.ts";

for (const pair of fixturePairs()) {
  for (const side of ["a", "b"]) {
    Deno.test(`dumpSigfile ${pair}: ${side}.dump.txt`, async () => {
      const sig = await readSiginfoFile(`${SIGINFO_DATA}${pair}/${side}.siginfo`);
      assertMatchesGolden(dumpSigfile(sig), `${SIGINFO_DATA}${pair}/${side}.dump.txt`);
    });
  }
}

Deno.test("dump: Python reprs of unusual names, no run-time data, no task", () => {
  const sig: SigInfo = {
    format: "json",
    legacy_names: false,
    basehash_ignore_vars: new Set(),
    taskhash_ignore_tasks: "ba",
    taskdeps: ["it's", 'say "it\'s"', "tab\there", "\x01"],
    basehash: "b",
    gendeps: {},
    varvals: {},
    taint: "nostamp:42",
  };
  const out = dumpSigfile(sig);
  assert.deepEqual(out.slice(0, 3), [
    "basehash_ignore_vars: []",
    "taskhash_ignore_tasks: ['a', 'b']",
    `Task dependencies: ['\\x01', "it's", 'say "it\\'s"', 'tab\\there']`,
  ]);
  assert.deepEqual(out.slice(4), [
    "Tainted (by forced/invalidated task): nostamp(uuid4):42",
    "Unable to compute base hash",
    `Computed task hash is ${
      calcTaskhash({ ...sig, runtaskdeps: [], runtaskhashes: {}, file_checksum_values: [] })
    }`,
  ]);
});

Deno.test("dump: bitbake 1.50 keeps dictionary order and prints sets and tuples", () => {
  const sig: SigInfo = {
    format: "pickle",
    legacy_names: true,
    task: "do_x",
    basehash_ignore_vars: new Set(["B", "A"]),
    taskhash_ignore_tasks: null,
    taskdeps: ["Z", "A"],
    basehash: "b",
    gendeps: { Z: new Set(), A: new Set(["Q", "P"]) },
    varvals: { do_x: "run", Z: null, A: "1" },
    runtaskdeps: ["/r/z/z.bb:do_y", "/r/a/a.bb:do_y"],
    file_checksum_values: [["f2", "2"], ["f1", null]],
    runtaskhashes: { "/r/z/z.bb:do_y": "h2", "/r/a/a.bb:do_y": "h1" },
  };
  assert.deepEqual(dumpSigfile(sig).slice(0, 13), [
    "basewhitelist: {'A', 'B'}",
    "taskwhitelist: None",
    "Task dependencies: ['A', 'Z']",
    "basehash: b",
    "List of dependencies for variable Z is set()",
    "List of dependencies for variable A is {'P', 'Q'}",
    "Variable do_x value is run",
    "Variable Z value is None",
    "Variable A value is 1",
    "Tasks this task depends on: ['/r/z/z.bb:do_y', '/r/a/a.bb:do_y']",
    "This task depends on the checksums of files: [('f2', '2'), ('f1', None)]",
    "Hash for dependent task /r/z/z.bb:do_y is h2",
    "Hash for dependent task /r/a/a.bb:do_y is h1",
  ]);
});
