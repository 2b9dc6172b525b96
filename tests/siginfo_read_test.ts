import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { zstdCompressSync } from "node:zlib";
import { computedHashes } from "../src/siginfo/dump.ts";
import { parseSiginfo, readSiginfoFile, SiginfoError } from "../src/siginfo/read.ts";
import type { SigInfo } from "../src/siginfo/types.ts";
import { fixturePairs, SIGINFO_DATA } from "./data/siginfo/golden.ts";

const CACHES = new URL("./data/caches/", import.meta.url).pathname;

function hex(text: string): Uint8Array {
  return new Uint8Array(text.match(/../g)!.map((byte) => parseInt(byte, 16)));
}

function zstdJson(value: unknown): Uint8Array {
  return new Uint8Array(zstdCompressSync(new TextEncoder().encode(JSON.stringify(value))));
}

/** A minimal bitbake 2.x signature, as bitbake would serialise it. */
function jsonSig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    basehash: "b",
    basehash_ignore_vars: { _set_object: ["X"] },
    gendeps: { V: { _set_object: ["W"] } },
    task: "do_x",
    taskdeps: { _set_object: ["V"] },
    taskhash_ignore_tasks: null,
    varvals: { V: "1", do_x: "run" },
    ...overrides,
  };
}

function assertHashesMatch(sig: SigInfo, file: string): void {
  assert.ok(sig.task, `${file}: no task`);
  const { basehash, taskhash } = computedHashes(sig);
  assert.equal(basehash, sig.basehash, `${file}: basehash`);
  assert.equal(taskhash, sig.taskhash, `${file}: taskhash`);
}

function assertSiginfoError(bytes: Uint8Array, name: string, pattern: RegExp): void {
  assert.throws(() => parseSiginfo(bytes, name), (err: unknown) => {
    assert.ok(err instanceof SiginfoError, `not a SiginfoError: ${err}`);
    assert.ok(err.message.startsWith(`${name}: `), err.message);
    assert.ok(!err.message.includes("\n"), err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

Deno.test("fixture pairs: format recognised by content, old key names mapped, hashes match", async () => {
  const pairs = fixturePairs();
  assert.equal(pairs.length, 32);
  for (const pair of pairs) {
    for (const side of ["a", "b"]) {
      const file = `${SIGINFO_DATA}${pair}/${side}.siginfo`;
      const sig = await readSiginfoFile(file);
      const old = pair.startsWith("2022/");
      assert.equal(sig.format, old ? "pickle" : "json", file);
      assert.equal(sig.legacy_names, old, file);
      assert.ok(sig.basehash_ignore_vars instanceof Set && sig.basehash_ignore_vars.has("DL_DIR"));
      for (const deps of Object.values(sig.gendeps)) assert.ok(deps instanceof Set, file);
      assertHashesMatch(sig, file);
    }
  }
});

Deno.test("bitbake 1.50 pickle: taskwhitelist read as taskhash_ignore_tasks, dict order kept", async () => {
  const dir = `${SIGINFO_DATA}2022/ignore-list-same-hash`;
  const [a, b] = [
    await readSiginfoFile(`${dir}/a.siginfo`),
    await readSiginfoFile(`${dir}/b.siginfo`),
  ];
  assert.equal(a.taskhash_ignore_tasks, null);
  assert.equal(b.taskhash_ignore_tasks, "^lab-tool-native$");
  assert.ok(b.basehash_ignore_vars.has("DEB_BUILD_PROFILES"));
  assert.ok(!a.basehash_ignore_vars.has("DEB_BUILD_PROFILES"));
  // bitbake 1.50 stores the task's own function first in varvals.
  assert.equal(Object.keys(a.varvals)[0], a.task);
});

Deno.test("bitbake 2.8 JSON: set-valued taskdeps become a sorted list", async () => {
  const sig = await readSiginfoFile(`${SIGINFO_DATA}head/shell-func-multiline/b.siginfo`);
  assert.ok(sig.taskdeps.includes("FOO_APP_FLAGS"));
  assert.deepEqual(sig.taskdeps, [...sig.taskdeps].sort());
  assert.deepEqual(sig.file_checksum_values, []);
});

Deno.test("old key names in a JSON file are mapped too", () => {
  const { basehash_ignore_vars: _, taskhash_ignore_tasks: __, ...rest } = jsonSig();
  const bytes = zstdJson({
    ...rest,
    basewhitelist: { _set_object: ["A", "B"] },
    taskwhitelist: "^x$",
  });
  const sig = parseSiginfo(bytes, "old.siginfo");
  assert.equal(sig.format, "json");
  assert.equal(sig.legacy_names, true);
  assert.deepEqual([...sig.basehash_ignore_vars], ["A", "B"]);
  assert.equal(sig.taskhash_ignore_tasks, "^x$");
});

Deno.test("a pickle with sets and None values (protocol 4)", () => {
  const sig = parseSiginfo(
    hex(
      "80049590000000000000007d94288c047461736b948c04646f5f78948c0d6261736577686974656c69737494" +
        "8f94288c014194908c0d7461736b77686974656c697374944e8c087461736b64657073945d948c0156946" +
        "18c086261736568617368948c0168948c0767656e64657073947d9468098f94288c01579490738c077661" +
        "7276616c73947d942868028c0372756e9468098c01319475752e",
    ),
    "p4.sigdata",
  );
  assert.equal(sig.format, "pickle");
  assert.deepEqual(sig.gendeps, { V: new Set(["W"]) });
  assert.deepEqual(sig.varvals, { do_x: "run", V: "1" });
  assert.equal(sig.taskhash_ignore_tasks, null);
  assert.equal(sig.runtaskdeps, undefined);
});

Deno.test("truncated files give a SiginfoError naming the file", async () => {
  for (const file of ["head/taint/b.siginfo", "2022/taint/b.siginfo"]) {
    const bytes = await Deno.readFile(`${SIGINFO_DATA}${file}`);
    for (let cut = 1; cut < bytes.length; cut++) {
      assertSiginfoError(bytes.subarray(0, cut), file, /truncated/);
    }
  }
});

Deno.test("corrupt and foreign files give a SiginfoError naming the file", async () => {
  const zst = await Deno.readFile(`${SIGINFO_DATA}head/taint/a.siginfo`);
  const garbled = zst.slice();
  garbled.fill(0x55, 40, 80);
  assertSiginfoError(garbled, "garbled.siginfo", /corrupt/);
  assertSiginfoError(new Uint8Array(), "empty.siginfo", /empty file/);
  assertSiginfoError(new TextEncoder().encode("hello\n"), "text.siginfo", /not a signature file/);
  assertSiginfoError(zstdJson([1, 2]), "list.siginfo", /not a signature file/);
  assertSiginfoError(zstdJson({ a: 1 }), "dict.siginfo", /no 'basehash_ignore_vars' field/);
  assertSiginfoError(
    zstdJson(jsonSig({ basehash: 5 })),
    "num.siginfo",
    /'basehash' is not a string/,
  );
  assertSiginfoError(zstdJson(jsonSig({ gendeps: { V: 1 } })), "set.siginfo", /is not a set/);
  const notUtf8 = new Uint8Array(zstdCompressSync(new Uint8Array([0x7b, 0xff, 0x7d])));
  assertSiginfoError(notUtf8, "bytes.siginfo", /corrupt zstd data/);
  assertSiginfoError(zstdJson("x").subarray(0, 4), "magic.siginfo", /truncated/);
  // pickles of a list and of a dict without signature fields
  assertSiginfoError(hex("80059509000000000000005d94284b014b02652e"), "l.sig", /not a signature/);
  assertSiginfoError(
    hex("80059511000000000000007d948c086261736568617368944b05732e"),
    "d.sig",
    /no 'basehash_ignore_vars' field|no 'basewhitelist' field/,
  );
  assertSiginfoError(hex("80ff00"), "opcode.sig", /corrupt pickle/);
});

Deno.test("an unreadable file gives a SiginfoError naming it", async () => {
  const path = `${SIGINFO_DATA}does-not-exist.siginfo`;
  await assert.rejects(readSiginfoFile(path), (err: unknown) => {
    assert.ok(err instanceof SiginfoError);
    assert.match(err.message, new RegExp(`^${path}: cannot read`));
    return true;
  });
});

async function* signatureFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* signatureFiles(path);
    else if (/\.siginfo$|\.sigdata\.[0-9a-f]+$/.test(entry.name)) yield path;
  }
}

for (const version of ["head", "2022"]) {
  const dir = `${CACHES}${version}`;
  Deno.test({
    name: `every signature in tests/data/caches/${version} reads and its hashes match`,
    ignore: !existsSync(dir),
    fn: async () => {
      let count = 0;
      for await (const file of signatureFiles(dir)) {
        const sig = await readSiginfoFile(file);
        assert.equal(sig.format, version === "head" ? "json" : "pickle", file);
        assertHashesMatch(sig, file);
        count++;
      }
      assert.ok(count > 300, `only ${count} signature files`);
    },
  });
}
