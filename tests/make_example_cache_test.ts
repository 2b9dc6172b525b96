import { deepStrictEqual, equal, notEqual, ok, throws } from "node:assert/strict";
import { join } from "node:path";
import { zstdDecompressSync } from "node:zlib";
import {
  buildExampleGraph,
  type ExampleGraph,
  makeExampleCache,
  parseArchiveSize,
  parseChange,
} from "../scripts/make-example-cache.ts";
import { calcBasehash, calcTaskhash } from "../src/siginfo/hash.ts";

/** The reference tool's pattern (SPEC §1). */
const SSTATE_RE =
  /(.*\/)?sstate:(?<pn>[^:]*):[^:]*:[^:]*:[^:]*:(?<arch>[^:]*):[^:]*:(?<hash>[0-9a-f]*)_(?<task>[^\.]*)\.(?<suffix>.*)/;

const SIGINFO_KEYS = [
  "basehash",
  "basehash_ignore_vars",
  "file_checksum_values",
  "gendeps",
  "runtaskdeps",
  "runtaskhashes",
  "task",
  "taskdeps",
  "taskhash",
  "taskhash_ignore_tasks",
  "unihash",
  "varvals",
];

interface Decoded {
  task: string;
  taskdeps: string[];
  varvals: Record<string, string | null>;
  basehash: string;
  runtaskdeps: string[];
  runtaskhashes: Record<string, string>;
  file_checksum_values: [string, string][];
  taskhash: string;
  unihash: string;
}

function walk(dir: string, rel = ""): string[] {
  return [...Deno.readDirSync(join(dir, rel))].flatMap((e) =>
    e.isDirectory ? walk(dir, join(rel, e.name)) : [join(rel, e.name)]
  );
}

function decode(bytes: Uint8Array): { text: string; sig: Decoded } {
  const text = new TextDecoder().decode(zstdDecompressSync(bytes));
  const sig = JSON.parse(text, (_k, v) => (v && v._set_object ? v._set_object : v));
  return { text, sig };
}

async function withCache<T>(
  opts: Parameters<typeof makeExampleCache>[1],
  fn: (dir: string, files: string[]) => T,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "example-cache-" });
  try {
    await makeExampleCache(dir, opts);
    return fn(dir, walk(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function hashes(graph: ExampleGraph): Map<string, string> {
  return new Map(graph.tasks.map((t) => [t.tid, t.sig.taskhash]));
}

Deno.test("names parse with the reference regex; siginfo hashes equal bitbake's formulas", async () => {
  await withCache({ recipes: 12 }, (dir, files) => {
    // Per recipe: siginfo files of executed tasks plus archives of sstate tasks.
    const packages = 12 * (6 + 1), bootstraps = 2 * (4 + 1), chroots = 2 * (6 + 1);
    equal(files.length, packages + bootstraps + chroots + 2 * (10 + 3));
    let siginfos = 0;
    for (const rel of files) {
      const m = SSTATE_RE.exec(rel);
      ok(m?.groups, `unparsable: ${rel}`);
      const { pn, arch, hash, task, suffix } = m.groups;
      ok(/^[0-9a-f]{64}$/.test(hash), rel);
      equal(rel.slice(0, 6), `${hash.slice(0, 2)}/${hash.slice(2, 4)}/`);
      ok(["tar.zst", "tar.zst.siginfo"].includes(suffix), rel);
      if (task === "fetch" || task === "unpack") {
        equal(arch, "");
        ok(rel.includes(`sstate:${pn}::`), rel);
      } else {
        ok(["arm64", "amd64"].includes(arch), rel);
        ok(rel.includes(`sstate:${pn}:${arch}-isar:`), rel);
        ok(rel.includes(`:r0:${arch}:10:${hash}_`), rel);
      }
      if (suffix !== "tar.zst.siginfo") continue;
      siginfos++;
      const raw = Deno.readFileSync(join(dir, rel));
      deepStrictEqual([...raw.subarray(0, 5)], [0x28, 0xb5, 0x2f, 0xfd, 0x04]);
      const { text, sig } = decode(raw);
      const keys = Object.keys(JSON.parse(text));
      deepStrictEqual(keys, SIGINFO_KEYS);
      ok(!/":\s|,\s"/.test(text.replace(/"(?:[^"\\]|\\.)*"/g, '""')), "compact separators");
      equal(sig.task, `do_${task}`);
      equal(sig.unihash, hash);
      equal(sig.taskhash, hash);
      equal(calcBasehash(sig), sig.basehash, rel);
      equal(calcTaskhash(sig), sig.taskhash, rel);
    }
    equal(siginfos, files.filter((f) => f.endsWith(".siginfo")).length);
  });
});

Deno.test("runtaskhashes refer to the dependencies' taskhashes", async () => {
  await withCache({ recipes: 15 }, (dir, files) => {
    const byTid = new Map<string, Decoded>();
    for (const rel of files.filter((f) => f.endsWith(".siginfo"))) {
      const { sig } = decode(Deno.readFileSync(join(dir, rel)));
      byTid.set(`${SSTATE_RE.exec(rel)!.groups!.pn}:${sig.task}`, sig);
    }
    let checked = 0;
    for (const sig of byTid.values()) {
      deepStrictEqual(Object.keys(sig.runtaskhashes).sort(), [...sig.runtaskdeps].sort());
      for (const dep of sig.runtaskdeps) {
        const target = byTid.get(dep);
        if (!target) continue; // noexec do_build: no siginfo
        equal(sig.runtaskhashes[dep], target.taskhash, dep);
        checked++;
      }
    }
    ok(checked > 100, `only ${checked} dependencies checked`);
    const isarapt = byTid.get("hello:do_local_isarapt")!;
    equal(
      isarapt.runtaskhashes["hello:do_prepare_build"],
      byTid.get("hello:do_prepare_build")!.taskhash,
    );
  });
});

Deno.test("the task graph is shaped like Isar", () => {
  const g = buildExampleGraph({ recipes: 10 });
  const deps = (tid: string) => g.byTid.get(tid)!.sig.runtaskdeps;
  deepStrictEqual(deps("hello:do_unpack"), ["hello:do_fetch"]);
  deepStrictEqual(deps("hello:do_prepare_build"), ["hello:do_unpack"]);
  deepStrictEqual(deps("foo-app:do_local_isarapt"), [
    "foo-app:do_prepare_build",
    "libfoo:do_deploy_deb",
  ]);
  deepStrictEqual(deps("hello:do_dpkg_build"), [
    "hello:do_local_isarapt",
    "sbuild-chroot-target:do_build",
  ]);
  deepStrictEqual(deps("lab-tool-native:do_dpkg_build"), [
    "lab-tool-native:do_local_isarapt",
    "sbuild-chroot-host:do_build",
  ]);
  deepStrictEqual(deps("hello:do_deploy_deb"), ["hello:do_dpkg_build"]);
  deepStrictEqual(deps("isar-mmdebstrap-target:do_bootstrap"), [
    "isar-mmdebstrap-target:do_generate_keyrings",
  ]);
  ok(deps("sbuild-chroot-target:do_rootfs_install").includes("isar-mmdebstrap-target:do_build"));
  const rootfs = deps("isar-image-base:do_rootfs_install");
  ok(rootfs.includes("isar-mmdebstrap-target:do_build"));
  ok(rootfs.includes("hello:do_deploy_deb"));
  // Archives exactly for Isar's sstate tasks; no files for noexec do_build.
  const withArchive = new Set(g.tasks.filter((t) => t.archive).map((t) => t.task));
  deepStrictEqual(
    [...withArchive].sort(),
    ["bootstrap", "copy_boot_files", "deploy", "dpkg_build", "rootfs_install"],
  );
  ok(g.tasks.filter((t) => t.task === "build").every((t) => !t.siginfo && !t.archive));
  const dpkg = g.byTid.get("hello:do_dpkg_build")!.sig;
  ok(dpkg.taskdeps.has("sstate_task_postfunc") && dpkg.taskdeps.has("SSTATE_PKGSPEC"));
  ok(dpkg.basehash_ignore_vars.has("WORKDIR"));
  equal(dpkg.varvals.do_dpkg_build, "\tdpkg_runbuild\n");
  deepStrictEqual([...dpkg.gendeps.P].sort(), ["PN", "PV"]);
});

Deno.test("a base change in variant B propagates to dependents only", () => {
  const a = hashes(buildExampleGraph({ recipes: 30 }));
  const bGraph = buildExampleGraph({ recipes: 30, variant: "B" });
  const b = hashes(bGraph);
  const changed = (tid: string) => a.get(tid) !== b.get(tid);
  ok(!a.has("new-tool:do_fetch") && b.has("new-tool:do_fetch"));
  for (
    const tid of [
      "isar-mmdebstrap-target:do_bootstrap",
      "isar-mmdebstrap-target:do_build",
      "sbuild-chroot-target:do_rootfs_install",
      "sbuild-chroot-target:do_build",
      "isar-image-base:do_rootfs_install",
      "isar-image-base:do_deploy",
      "isar-image-ci:do_rootfs_install",
    ]
  ) ok(changed(tid), `${tid} should change`);
  for (
    const tid of [
      "isar-mmdebstrap-target:do_fetch",
      "isar-mmdebstrap-target:do_generate_keyrings",
      "isar-mmdebstrap-host:do_bootstrap",
      "sbuild-chroot-host:do_build",
      "isar-image-base:do_unpack",
    ]
  ) ok(!changed(tid), `${tid} should not change`);
  let arm64 = 0, amd64 = 0;
  for (const t of bGraph.tasks) {
    if (!a.has(t.tid) || t.pn.startsWith("isar-") || t.pn.startsWith("sbuild-")) continue;
    if (["fetch", "unpack", "prepare_build"].includes(t.task)) {
      ok(!changed(t.tid), `${t.tid} should not change`);
    } else if (t.arch === "amd64") {
      ok(!changed(t.tid), `${t.tid} (host) should not change`);
      amd64++;
    } else if (t.task !== "local_isarapt") {
      ok(changed(t.tid), `${t.tid} should change`);
      arm64++;
    }
  }
  ok(arm64 > 50 && amd64 > 0, `${arm64} arm64 and ${amd64} amd64 tasks checked`);
});

Deno.test("--change of one recipe changes it and what depends on it", () => {
  const a = hashes(buildExampleGraph({ recipes: 10 }));
  const b = hashes(
    buildExampleGraph({ recipes: 10, changes: ["libfoo:DEBIAN_DEPENDS=libc6 (>= 2.36)"] }),
  );
  const changed = [...a.keys()].filter((tid) => a.get(tid) !== b.get(tid)).sort();
  deepStrictEqual(
    changed,
    [
      "foo-app:do_build",
      "foo-app:do_deploy_deb",
      "foo-app:do_dpkg_build",
      "foo-app:do_local_isarapt",
      "foo-tools:do_build",
      "foo-tools:do_deploy_deb",
      "foo-tools:do_dpkg_build",
      "foo-tools:do_local_isarapt",
      ...[
        "build",
        "copy_boot_files",
        "deploy",
        "image",
        "image_wic",
        "rootfs",
        "rootfs_install",
        "rootfs_postprocess",
        "rootfs_wicenv",
      ].flatMap((t) => [`isar-image-base:do_${t}`, `isar-image-ci:do_${t}`]),
      "libfoo:do_build",
      "libfoo:do_deploy_deb",
      "libfoo:do_dpkg_build",
      "libfoo:do_local_isarapt",
      "libfoo:do_prepare_build",
    ].sort(),
  );
  // Global changes apply to every recipe; ignored variables change nothing.
  const lc = hashes(buildExampleGraph({ recipes: 10, changes: ["LC_ALL=C.UTF-8"] }));
  equal(lc.get("hello:do_fetch"), a.get("hello:do_fetch"));
  notEqual(lc.get("hello:do_prepare_build"), a.get("hello:do_prepare_build"));
  const ignored = hashes(buildExampleGraph({ recipes: 10, changes: ["PARALLEL_MAKE=16"] }));
  deepStrictEqual(ignored, a);
  throws(() => buildExampleGraph({ changes: ["nosuchrecipe:FOO=1"] }), /no recipe/);
  throws(() => buildExampleGraph({ variant: "Z" }), /unknown variant/);
});

Deno.test("deterministic output; sstate-only mode; archive size ranges", async () => {
  const opts = {
    recipes: 40,
    seed: "bench",
    siginfo: "sstate" as const,
    archiveSize: { min: 4096, max: 65536 },
  };
  const first = await withCache(
    opts,
    (dir, files) => files.map((f) => [f, Deno.readFileSync(join(dir, f))] as const),
  );
  const archives = first.filter(([f]) => f.endsWith(".tar.zst"));
  equal(archives.length, 40 + 2 + 2 + 2 * 3);
  equal(first.length, 2 * archives.length);
  ok(archives.every(([, data]) => data.length >= 4096 && data.length <= 65536));
  ok(new Set(archives.map(([, d]) => d.length)).size > 10, "sizes vary");
  await withCache(opts, (dir, files) => {
    deepStrictEqual(files.sort(), first.map(([f]) => f).sort());
    for (const [f, data] of first) deepStrictEqual(Deno.readFileSync(join(dir, f)), data);
  });
  const other = buildExampleGraph({ ...opts, seed: "other" });
  notEqual(other.tasks.find((t) => t.task === "fetch")?.sig.taskhash, undefined);
  ok(!other.tasks.some((t) => first.some(([f]) => f === t.archive)), "seed changes hashes");
});

Deno.test("parseChange and parseArchiveSize", () => {
  deepStrictEqual(parseChange("LC_ALL=C"), { pn: undefined, name: "LC_ALL", op: "=", value: "C" });
  deepStrictEqual(parseChange("hello:SRC_URI+=file://x.c"), {
    pn: "hello",
    name: "SRC_URI",
    op: "+=",
    value: "file://x.c",
  });
  throws(() => parseChange("novalue"), /invalid change/);
  equal(parseArchiveSize("4096"), 4096);
  deepStrictEqual(parseArchiveSize("4K-1M"), { min: 4096, max: 1048576 });
  throws(() => parseArchiveSize("1M-4K"), /invalid size range/);
});
