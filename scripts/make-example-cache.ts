/**
 * Generates realistic Isar sstate caches: file names exactly as Isar names them, archives of
 * seeded pseudo-random bytes, and siginfo files in bitbake 2.8's real format (one zstd frame of
 * JSON with sorted keys) whose base and task hashes are consistent with bitbake's formulas and with
 * each other along an Isar-shaped task graph.
 *
 * Library: `makeExampleCache(opts)` writes a cache, `buildExampleGraph(opts)` only computes it.
 * CLI: `deno run -A scripts/make-example-cache.ts --out DIR [options]` (see `--help`).
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { constants, zstdCompressSync } from "node:zlib";
import { calcBasehash, calcTaskhash, pythonSort } from "../src/siginfo/hash.ts";

/** One variable change: `[PN:]VAR=VALUE` sets, `[PN:]VAR+=VALUE` appends (with a space). */
export interface Change {
  /** Only this recipe; every recipe when absent. */
  pn?: string;
  name: string;
  op: "=" | "+=";
  value: string;
}

/** Options of `makeExampleCache` / `buildExampleGraph`. */
export interface ExampleCacheOptions {
  /** Package recipes (fetch → … → deploy_deb). Default 10. */
  recipes?: number;
  /** Image recipes. Default 2 (isar-image-base, isar-image-ci). */
  images?: number;
  /** Seed of names, dependencies, checksums and archive bytes. Default "isar". */
  seed?: string;
  /** A named variant of the build (see `VARIANTS`). Default "A". */
  variant?: string;
  /** Variable changes applied after the variant's own. */
  changes?: readonly (Change | string)[];
  /**
   * Archive size in bytes, or a range whose sizes are drawn log-uniformly per archive.
   * Default: small per-task sizes (512 B .. 8 KiB).
   */
  archiveSize?: number | { min: number; max: number };
  /**
   * Which tasks get a `.siginfo`: "all" executed tasks (default, like the fixture layer, so that
   * analyze can recurse into dependencies) or only the "sstate" tasks that have an archive (Isar).
   */
  siginfo?: "all" | "sstate";
}

/** The decoded content of a bitbake 2.8 siginfo file (sets as `Set`). */
export interface SiginfoData {
  task: string;
  basehash_ignore_vars: Set<string>;
  taskhash_ignore_tasks: null;
  taskdeps: Set<string>;
  basehash: string;
  gendeps: Record<string, Set<string>>;
  varvals: Record<string, string | null>;
  runtaskdeps: string[];
  file_checksum_values: [string, string][];
  runtaskhashes: Record<string, string>;
  taskhash: string;
  unihash: string;
}

/** One task of the generated build. */
export interface ExampleTask {
  /** Task id as bitbake writes it in runtaskdeps: `pn:do_task`. */
  tid: string;
  pn: string;
  /** Task name without `do_`. */
  task: string;
  /** SSTATE_PKGARCH of the recipe (arm64 or amd64). */
  arch: string;
  sig: SiginfoData;
  /** Cache-relative path of its archive, for sstate tasks. */
  archive?: string;
  /** Archive size in bytes, for sstate tasks. */
  archiveSize?: number;
  /** Cache-relative path of its `.siginfo`, when one is written. */
  siginfo?: string;
}

/** A generated build: every task (including the noexec `do_build`s, which get no files). */
export interface ExampleGraph {
  tasks: ExampleTask[];
  byTid: Map<string, ExampleTask>;
}

/** What `makeExampleCache` wrote. */
export interface ExampleCacheResult extends ExampleGraph {
  dir: string;
  /** Cache-relative paths of all files written. */
  files: string[];
  archives: number;
  siginfos: number;
  /** Total size of all files written. */
  bytes: number;
}

/** The named variants, with what each changes relative to the baseline A. */
export const VARIANTS: Readonly<Record<string, string>> = {
  A: "the baseline",
  A0: "an older build: DEBIAN_DEPENDS differs in every 10th package recipe",
  B: "a developer build: the target bootstrap also installs usrmerge (a base change reaching " +
    "every arm64 task after it), do_dpkg_build changed in every 10th package recipe, and a new " +
    "package recipe new-tool is installed in the first image",
};

// ---------------------------------------------------------------------------------------------
// Variables, copied from real bitbake 2.8 signatures of an Isar-shaped layer.

/** basehash_ignore_vars as Isar's bitbake.conf sets it. */
const BASEHASH_IGNORE_VARS = [
  "BBPATH",
  "BBSERVER",
  "BB_CURRENTTASK",
  "BB_HASHSERVE",
  "BB_LIMITEDDEPS",
  "BB_TASKHASH",
  "BB_UNIHASH",
  "BB_WORKERCONTEXT",
  "BUILDHISTORY_DIR",
  "BUILD_ARCH",
  "CCACHE",
  "CCACHE_DEBUG",
  "CCACHE_DIR",
  "CCACHE_NOHASHDIR",
  "CCACHE_TOP_DIR",
  "COREBASE",
  "DL_DIR",
  "EXTERNAL_TOOLCHAIN",
  "FILE",
  "FILESEXTRAPATHS",
  "FILESPATH",
  "FILE_DIRNAME",
  "GIT_CEILING_DIRECTORIES",
  "HOME",
  "ISAR_BUILD_UUID",
  "LAYERDIR_core",
  "LICENSE_PATH",
  "LOGNAME",
  "OMP_NUM_THREADS",
  "PARALLEL_MAKE",
  "PATH",
  "PKGDATA_DIR",
  "PRSERV_DUMPDIR",
  "PRSERV_DUMPFILE",
  "PRSERV_HOST",
  "PRSERV_LOCKDOWN",
  "PSEUDO_IGNORE_PATHS",
  "PWD",
  "SCRIPTSDIR",
  "SDKPKGSUFFIX",
  "SHELL",
  "SOURCE_DATE_EPOCH",
  "SSTATE_DIR",
  "SSTATE_HASHEQUIV_METHOD",
  "SSTATE_HASHEQUIV_OWNER",
  "SSTATE_HASHEQUIV_REPORT_TASKDATA",
  "SSTATE_PKGARCH",
  "STAGING_DIR_HOST",
  "STAGING_DIR_TARGET",
  "STAMPCLEAN",
  "STAMPS_DIR",
  "THISDIR",
  "TMPDIR",
  "TOPDIR",
  "USER",
  "WARN_QA",
  "WORKDIR",
  "extend_recipe_sysroot",
];
const IGNORED = new Set(BASEHASH_IGNORE_VARS);
/** Referenced but excluded through `vardepsexclude`. */
const VARDEPS_EXCLUDE = new Set([
  "SSTATE_LAB_ARCHIVE_SIZE",
  "SSTATE_LAB_SIZE_FACTOR",
  "DEB_BUILD_TIMESTAMP",
]);
/** Explicit `vardeps` of tasks. */
const TASK_VARDEPS: Record<string, string[]> = { fetch: ["SRCREV"], build: ["do_build[noexec]"] };
/** Exported variables: every shell function depends on them. */
const EXPORTED = ["LC_ALL"];

const FETCH = `    src_uri = (d.getVar('SRC_URI') or "").split()
    if len(src_uri) == 0:
        return

    try:
        fetcher = bb.fetch2.Fetch(src_uri, d)
        fetcher.download()
    except bb.fetch2.BBFetchException as e:
        bb.fatal(str(e))
`;
const UNPACK = `    src_uri = (d.getVar('SRC_URI') or "").split()
    if len(src_uri) == 0:
        return

    rootdir = d.getVar('WORKDIR')

    try:
        fetcher = bb.fetch2.Fetch(src_uri, d)
        fetcher.unpack(rootdir)
    except bb.fetch2.BBFetchException as e:
        bb.fatal(str(e))
`;
const GENERATE_SSTATEFN = `def generate_sstatefn(spec, hash, taskname, siginfo, d):
    if taskname is None:
       return ""
    extension = d.getVar('SSTATE_ARCHIVE_EXT')
    # 8 chars reserved for siginfo
    limit = 254 - 8
    if siginfo:
        limit = 254
        extension = extension + ".siginfo"
    if not hash:
        hash = "INVALID"
    fn = spec + hash + "_" + taskname + extension
    # If the filename is too long, attempt to reduce it
    if len(fn) > limit:
        components = spec.split(":")
        # Fields 0,5,6 are mandatory, 1 is most useful, 2,3,4 are just for information
        # 7 is for the separators
        avail = (limit - len(hash + "_" + taskname + extension) - len(components[0]) - len(components[1]) - len(components[5]) - len(components[6]) - 7) // 3
        components[2] = components[2][:avail]
        components[3] = components[3][:avail]
        components[4] = components[4][:avail]
        spec = ":".join(components)
        fn = spec + hash + "_" + taskname + extension
        if len(fn) > limit:
            bb.fatal("Unable to reduce sstate name to less than 255 chararacters")
    return hash[:2] + "/" + hash[2:4] + "/" + fn
`;
const SSTATE_TASK_PREFUNC = `    task = d.getVar('BB_CURRENTTASK')
    bb.note("sstate: preparing %s" % task)
`;
const SSTATE_TASK_POSTFUNC = `    import random
    task = d.getVar('BB_CURRENTTASK')
    if task.startswith("do_"):
        task = task[3:]
    d.setVar("SSTATE_CURRTASK", task)
    pkg = d.getVar('SSTATE_PKG')
    bb.utils.mkdirhier(os.path.dirname(pkg))
    size = int(d.getVarFlag('SSTATE_LAB_ARCHIVE_SIZE', task) or d.getVar('SSTATE_LAB_ARCHIVE_SIZE'))
    size = int(size * float(d.getVar('SSTATE_LAB_SIZE_FACTOR') or 1))
    rnd = random.Random(os.path.basename(pkg))
    with open(pkg + ".tmp", "wb") as f:
        f.write(rnd.randbytes(size))
    os.rename(pkg + ".tmp", pkg)
    siginfo = pkg + ".siginfo"
    if not os.path.exists(siginfo):
        bb.siggen.dump_this_task(siginfo, d)
    else:
        os.utime(siginfo, None)
`;
const FROM_FILE = (i: number, dflt: string) =>
  `\${@bb.parse.vars_from_file(d.getVar('FILE', False),d)[${i}] or '${dflt}'}`;

/** Variables every recipe sees (bitbake.conf and global classes). */
const COMMON: Record<string, string> = {
  LC_ALL: "en_US.UTF-8",
  DISTRO: "debian-bookworm",
  DISTRO_ARCH: "arm64",
  HOST_ARCH: "amd64",
  BASE_DISTRO_CODENAME: "bookworm",
  MACHINE: "qemuarm64",
  PN: FROM_FILE(0, "defaultpkgname"),
  PV: FROM_FILE(1, "1.0"),
  PR: FROM_FILE(2, "r0"),
  P: "${PN}-${PV}",
  S: "${WORKDIR}/${P}",
  PACKAGE_ARCH: "${DISTRO_ARCH}",
  TARGET_VENDOR: "",
  TARGET_OS: "isar",
  DEPLOY_DIR: "${TMPDIR}/deploy",
  SRCREV: "",
  SRC_URI: "",
  SSTATE_VERSION: "10",
  SSTATE_ARCHIVE_EXT: ".tar.zst",
  SSTATE_CURRTASK: "",
  SSTATE_EXTRAPATH: "",
  SSTATE_PKG: "${SSTATE_DIR}/${SSTATE_PKGNAME}",
  SSTATE_PKGNAME: "${SSTATE_EXTRAPATH}${@generate_sstatefn(d.getVar('SSTATE_PKGSPEC'), " +
    "d.getVar('BB_UNIHASH'), d.getVar('SSTATE_CURRTASK'), False, d)}",
  SSTATE_PKGSPEC: "sstate:${PN}:${PACKAGE_ARCH}${TARGET_VENDOR}-${TARGET_OS}:${PV}:${PR}:" +
    "${SSTATE_PKGARCH}:${SSTATE_VERSION}:",
  generate_sstatefn: GENERATE_SSTATEFN,
  sstate_task_prefunc: SSTATE_TASK_PREFUNC,
  sstate_task_postfunc: SSTATE_TASK_POSTFUNC,
  do_fetch: FETCH,
  do_unpack: UNPACK,
  do_build: "    :\n",
  "do_build[noexec]": "1",
};
/** Python functions (no exported shell variables). */
const PYTHON_FUNCS = new Set([
  "do_fetch",
  "do_unpack",
  "generate_sstatefn",
  "sstate_task_prefunc",
  "sstate_task_postfunc",
]);
/** Named (non-task) functions, found by name where they are called. */
const COMMON_FUNCS = new Set([
  "generate_sstatefn",
  "sstate_task_prefunc",
  "sstate_task_postfunc",
  "dpkg_runbuild",
]);

const PACKAGE_VARS: Record<string, string> = {
  DEB_BUILD_OPTIONS: "nocheck",
  DEB_BUILD_PROFILES: "",
  DPKG_ARCH: "any",
  DEBIAN_BUILD_DEPENDS: "debhelper-compat (= 13)",
  MAINTAINER: "Isar Builder <isar@example.com>",
  REPO_ISAR_DIR: "${DEPLOY_DIR}/isar-apt/${DISTRO}/apt",
  dpkg_runbuild: '\tcd ${S}\n\texport DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS} ' +
    'parallel=${PARALLEL_MAKE}"\n\texport DEB_BUILD_PROFILES="${DEB_BUILD_PROFILES}"\n' +
    '\tmkdir -p ${WORKDIR}/deb\n\techo "${PN} ${PV} ${DPKG_ARCH} ${PACKAGE_ARCH}" > ' +
    "${WORKDIR}/deb/${PN}_${PV}_${PACKAGE_ARCH}.deb\n",
  do_prepare_build: "\tmkdir -p ${S}/debian\n\tcat > ${S}/debian/control <<EOT\nSource: ${PN}\n" +
    "Maintainer: ${MAINTAINER}\nBuild-Depends: ${DEBIAN_BUILD_DEPENDS}\n\nPackage: ${PN}\n" +
    "Architecture: ${DPKG_ARCH}\nDepends: ${DEBIAN_DEPENDS}\nDescription: ${DESCRIPTION}\nEOT\n" +
    '\techo "${PV}" > ${S}/debian/lab-version\n',
  do_local_isarapt: '\tmkdir -p ${WORKDIR}/isar-apt\n\techo "${DEPENDS}" > ' +
    "${WORKDIR}/isar-apt/lab-depends\n",
  do_dpkg_build: "\tdpkg_runbuild\n",
  do_deploy_deb:
    "\tmkdir -p ${REPO_ISAR_DIR}/pool\n\tcp ${WORKDIR}/deb/*.deb ${REPO_ISAR_DIR}/pool/\n",
};
const BOOTSTRAP_VARS: Record<string, string> = {
  DISTRO_BOOTSTRAP_BASE_PACKAGES: "locales apt-transport-https ca-certificates",
  DISTRO_BOOTSTRAP_KEYS: "debian-archive-keyring",
  MMDEBSTRAP_VARIANT: "minbase",
  SRC_URI: "file://${BASE_DISTRO_CODENAME}.list",
  do_generate_keyrings:
    "\tmkdir -p ${WORKDIR}/trusted.gpg.d\n\tfor k in ${DISTRO_BOOTSTRAP_KEYS}; " +
    'do\n\t\techo "$k" > ${WORKDIR}/trusted.gpg.d/$k.gpg\n\tdone\n',
  do_bootstrap:
    '\tmkdir -p ${WORKDIR}/rootfs\n\techo "mmdebstrap --variant=${MMDEBSTRAP_VARIANT} ' +
    "--architectures=${BOOTSTRAP_ARCH} --include='${DISTRO_BOOTSTRAP_BASE_PACKAGES}' " +
    '${BASE_DISTRO_CODENAME}" > ${WORKDIR}/rootfs/mmdebstrap.cmd\n\tcat ' +
    "${WORKDIR}/${BASE_DISTRO_CODENAME}.list >> ${WORKDIR}/rootfs/mmdebstrap.cmd\n",
};
const ROOTFS_VARS: Record<string, string> = {
  ROOTFSDIR: "${WORKDIR}/rootfs",
  ROOTFS_ARCH: "${DISTRO_ARCH}",
  ROOTFS_DISTRO: "${DISTRO}",
  ROOTFS_FEATURES: "clean-package-cache",
  do_rootfs_install: '\tmkdir -p ${ROOTFSDIR}/etc\n\techo "${ROOTFS_DISTRO} ${ROOTFS_ARCH}" > ' +
    '${ROOTFSDIR}/etc/lab-distro\n\techo "${ROOTFS_PACKAGES}" > ${ROOTFSDIR}/etc/lab-packages\n',
  do_rootfs_postprocess: '\tfor f in ${ROOTFS_FEATURES}; do\n\t\techo "feature $f" >> ' +
    "${ROOTFSDIR}/etc/lab-features\n\tdone\n",
  do_rootfs: "\ttouch ${ROOTFSDIR}/etc/lab-rootfs-done\n",
};
const SBUILD_CHROOT_VARS: Record<string, string> = {
  ...ROOTFS_VARS,
  ROOTFS_PACKAGES: "${SBUILD_CHROOT_PREINSTALL}",
  SBUILD_CHROOT_PREINSTALL_COMMON: "fakeroot build-essential debhelper ccache devscripts equivs",
  SCHROOT_DIR: "${DEPLOY_DIR}/schroot-${SBUILD_VARIANT}/${DISTRO}-${ROOTFS_ARCH}",
  do_sbuildchroot_deploy: '\tmkdir -p ${SCHROOT_DIR}\n\techo "${SBUILD_VARIANT}" > ' +
    "${SCHROOT_DIR}/lab-variant\n",
};
const IMAGE_VARS: Record<string, string> = {
  ...ROOTFS_VARS,
  ROOTFS_PACKAGES: "${IMAGE_PREINSTALL} ${IMAGE_INSTALL}",
  IMAGE_FSTYPES: "wic",
  IMAGE_FULLNAME: "${PN}-${DISTRO}-${MACHINE}",
  KERNEL_FILE: "vmlinux",
  DEPLOY_DIR_IMAGE: "${DEPLOY_DIR}/images/${MACHINE}",
  do_copy_boot_files: '\tmkdir -p ${WORKDIR}/boot\n\techo "${KERNEL_FILE}" > ' +
    "${WORKDIR}/boot/${KERNEL_FILE}\n",
  do_image: '\techo "${IMAGE_FULLNAME} ${IMAGE_FSTYPES}" > ${WORKDIR}/${IMAGE_FULLNAME}.manifest\n',
  do_rootfs_wicenv: '\tmkdir -p ${WICVARS_DIR}\n\techo "ROOTFS_ARCH=${ROOTFS_ARCH}" > ' +
    "${WICVARS_DIR}/${IMAGE_FULLNAME}.env\n",
  do_image_wic: '\techo "wic ${IMAGE_FULLNAME}" > ${WORKDIR}/${IMAGE_FULLNAME}.wic\n',
  do_deploy: "\tmkdir -p ${DEPLOY_DIR_IMAGE}\n\tcp ${WORKDIR}/${IMAGE_FULLNAME}.wic " +
    "${WORKDIR}/${IMAGE_FULLNAME}.manifest ${DEPLOY_DIR_IMAGE}/\n",
};

/** Archive sizes by task when no size is given (as in the real fixture caches). */
const DEFAULT_ARCHIVE_SIZES: Record<string, number> = {
  dpkg_build: 1536,
  bootstrap: 6144,
  rootfs_install: 8192,
  copy_boot_files: 512,
  deploy: 4096,
};

// ---------------------------------------------------------------------------------------------
// Recipes

type Kind = "package" | "bootstrap" | "sbuild-chroot" | "image";

interface Recipe {
  pn: string;
  pv: string;
  pr: string;
  kind: Kind;
  /** Resolved PACKAGE_ARCH (= SSTATE_PKGARCH). */
  arch: string;
  /** Recipe variables, over COMMON. */
  vars: Record<string, string>;
  /** Recipe-specific named functions. */
  funcs: Set<string>;
  /** Extra postfuncs by task name. */
  postfuncs: Record<string, string[]>;
  /** Local source files (name, md5) that do_fetch checksums. */
  files: [string, string][];
}

class Rng {
  #s: Uint32Array;
  constructor(seed: string) {
    const h = createHash("sha256").update(seed).digest();
    this.#s = new Uint32Array(h.buffer, h.byteOffset, 4).slice();
  }
  /** sfc32 step: uniform in [0, 1). */
  next(): number {
    const s = this.#s;
    const t = (s[0] + s[1] + s[3]) >>> 0;
    s[3] = (s[3] + 1) >>> 0;
    s[0] = s[1] ^ (s[1] >>> 9);
    s[1] = (s[2] + (s[2] << 3)) >>> 0;
    s[2] = ((s[2] << 21) | (s[2] >>> 11)) + t;
    return t / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

function hex(data: string, length = 64): string {
  return createHash("sha256").update(data).digest("hex").slice(0, length);
}

const SYLLABLES = [
  "ba",
  "bel",
  "cor",
  "da",
  "del",
  "fa",
  "fin",
  "ga",
  "gar",
  "ka",
  "kin",
  "la",
  "lum",
  "ma",
  "mer",
  "na",
  "nor",
  "pa",
  "pix",
  "ra",
  "ril",
  "sa",
  "sol",
  "ta",
  "tor",
  "va",
  "ven",
  "xo",
  "za",
  "zen",
];

interface PackageSpec {
  pn: string;
  pv: string;
  depends: string[];
  native?: boolean;
  dpkgArch?: string;
  sources: string[];
  description: string;
}

/** The first package recipes, shaped like the fixture layer's. */
const BASE_PACKAGES: PackageSpec[] = [
  {
    pn: "hello",
    pv: "2.10",
    depends: [],
    sources: ["hello.c"],
    description: "GNU hello, the friendly greeter",
  },
  {
    pn: "libfoo",
    pv: "1.2",
    depends: [],
    sources: ["foo.c", "foo.h"],
    description: "Foo library",
  },
  { pn: "libbar", pv: "0.9", depends: [], sources: ["bar.c"], description: "Bar library" },
  {
    pn: "foo-app",
    pv: "0.3",
    depends: ["libfoo"],
    sources: ["main.c"],
    description: "Foo application",
  },
  {
    pn: "foo-tools",
    pv: "1.0",
    depends: ["libfoo"],
    sources: ["tools.sh"],
    description: "Foo tools",
  },
  {
    pn: "bar-utils",
    pv: "2.1",
    depends: ["libbar"],
    sources: ["utils.sh"],
    description: "Bar utilities",
  },
  {
    pn: "example-raw",
    pv: "0.1",
    depends: [],
    dpkgArch: "all",
    sources: ["example.conf", "postinst"],
    description: "Example raw package with a config file",
  },
  {
    pn: "lab-tool-native",
    pv: "1.0",
    depends: [],
    native: true,
    sources: ["tool.sh"],
    description: "Build helper for the host",
  },
];

/** The recipe variant B adds. */
const NEW_TOOL: PackageSpec = {
  pn: "new-tool",
  pv: "1.0",
  depends: [],
  sources: ["new-tool.sh"],
  description: "A brand new tool",
};

function generatePackages(count: number, rng: Rng): PackageSpec[] {
  const specs = BASE_PACKAGES.slice(0, count);
  const taken = new Set([...specs.map((s) => s.pn), NEW_TOOL.pn]);
  // The earlier recipes by nativeness, all and libraries only (kept as they grow: a million-file
  // cache has 140,000 recipes).
  const pools = [false, true].map((native) => {
    const all = specs.filter((s) => !!s.native === native);
    return { all, libs: all.filter((s) => s.pn.startsWith("lib")) };
  });
  while (specs.length < count) {
    const word = Array.from({ length: 2 + rng.int(2) }, () => rng.pick(SYLLABLES)).join("");
    const r = rng.next();
    let spec: PackageSpec;
    const pv = `${rng.int(5)}.${rng.int(20)}${rng.chance(0.4) ? `.${rng.int(10)}` : ""}`;
    const base = { pv, depends: [] as string[] };
    if (r < 0.25) {
      spec = {
        ...base,
        pn: `lib${word}`,
        sources: [`${word}.c`, `${word}.h`],
        description: `The ${word} library`,
      };
    } else if (r < 0.5) {
      spec = { ...base, pn: word, sources: ["main.c"], description: `The ${word} program` };
    } else if (r < 0.6) {
      spec = {
        ...base,
        pn: `${word}-utils`,
        sources: ["utils.sh"],
        description: `Utilities for ${word}`,
      };
    } else if (r < 0.7) {
      spec = {
        ...base,
        pn: `${word}-tools`,
        sources: ["tools.sh", "Makefile"],
        description: `Tools for ${word}`,
      };
    } else if (r < 0.8) {
      spec = {
        ...base,
        pn: `python3-${word}`,
        dpkgArch: "all",
        sources: [`${word}.py`, "setup.py"],
        description: `Python module ${word}`,
      };
    } else if (r < 0.88) {
      spec = {
        ...base,
        pn: `${word}-daemon`,
        sources: [`${word}d.c`, `${word}.service`],
        description: `The ${word} daemon`,
      };
    } else if (r < 0.94) {
      spec = {
        ...base,
        pn: `${word}-conf`,
        dpkgArch: "all",
        sources: [`${word}.conf`, "postinst"],
        description: `Configuration for ${word}`,
      };
    } else {
      spec = {
        ...base,
        pn: `${word}-native`,
        native: true,
        sources: [`${word}.sh`],
        description: `Build helper ${word} for the host`,
      };
    }
    if (taken.has(spec.pn)) continue;
    taken.add(spec.pn);
    // Dependencies on earlier recipes of the same architecture, libraries preferred.
    const earlier = pools[spec.native ? 1 : 0];
    const pool = earlier.libs.length > 0 ? earlier.libs : earlier.all;
    if (pool.length > 0 && rng.chance(spec.native ? 0.3 : 0.6)) {
      const n = 1 + rng.int(3);
      for (let i = 0; i < n; i++) {
        const dep = rng.pick(pool).pn;
        if (!spec.depends.includes(dep)) spec.depends.push(dep);
      }
    }
    specs.push(spec);
    earlier.all.push(spec);
    if (spec.pn.startsWith("lib")) earlier.libs.push(spec);
  }
  return specs;
}

function debianDepends(spec: PackageSpec): string {
  if (spec.dpkgArch === "all") return "";
  const deps = spec.depends.map((d) => (d.startsWith("lib") ? `${d}1` : d));
  return [...deps, "libc6"].join(", ");
}

function packageRecipe(spec: PackageSpec, seed: string): Recipe {
  const vars: Record<string, string> = {
    ...PACKAGE_VARS,
    SRC_URI: spec.sources.map((f) => `file://${f}`).join(" "),
    DEPENDS: spec.depends.join(" "),
    DEBIAN_DEPENDS: debianDepends(spec),
    DESCRIPTION: spec.description,
  };
  if (spec.dpkgArch) vars.DPKG_ARCH = spec.dpkgArch;
  if (spec.native) vars.PACKAGE_ARCH = "${HOST_ARCH}";
  const funcs = new Set<string>();
  const postfuncs: Record<string, string[]> = {};
  if (spec.pn.startsWith("lib")) {
    // A library records its ABI in a prepare_build postfunc.
    const id = spec.pn.replace(/[^a-z0-9]/g, "_");
    const abiVar = `${id.toUpperCase()}_ABI`;
    vars[abiVar] = "1";
    vars[`${id}_prepare_abi`] = `\techo "\${${abiVar}}" > \${S}/debian/lab-abi\n` +
      '\techo "${DEB_BUILD_TIMESTAMP}" > ${S}/debian/lab-timestamp\n';
    funcs.add(`${id}_prepare_abi`);
    postfuncs.prepare_build = [`${id}_prepare_abi`];
  }
  return {
    pn: spec.pn,
    pv: spec.pv,
    pr: "r0",
    kind: "package",
    arch: spec.native ? "amd64" : "arm64",
    vars,
    funcs,
    postfuncs,
    files: spec.sources.map((f) => [f, hex(`${seed}\0${spec.pn}\0${f}`, 32)]),
  };
}

function baseRecipes(seed: string): Recipe[] {
  const common = { pv: "1.0", pr: "r0", funcs: new Set<string>(), postfuncs: {} };
  const list = hex(`${seed}\0bookworm.list`, 32);
  return (["target", "host"] as const).flatMap((side): Recipe[] => {
    const arch = side === "target" ? "arm64" : "amd64";
    const archVar = side === "target" ? "${DISTRO_ARCH}" : "${HOST_ARCH}";
    return [
      {
        ...common,
        pn: `isar-mmdebstrap-${side}`,
        kind: "bootstrap",
        arch,
        vars: { ...BOOTSTRAP_VARS, BOOTSTRAP_ARCH: archVar, PACKAGE_ARCH: archVar },
        files: [["bookworm.list", list]],
      },
      {
        ...common,
        pn: `sbuild-chroot-${side}`,
        kind: "sbuild-chroot",
        arch,
        vars: {
          ...SBUILD_CHROOT_VARS,
          PACKAGE_ARCH: archVar,
          ROOTFS_ARCH: archVar,
          SBUILD_VARIANT: side,
          SBUILD_CHROOT_PREINSTALL: side === "target"
            ? "${SBUILD_CHROOT_PREINSTALL_COMMON}"
            : "${SBUILD_CHROOT_PREINSTALL_COMMON} crossbuild-essential-${DISTRO_ARCH}",
        },
        files: [],
      },
    ];
  });
}

function imageRecipes(count: number, packages: PackageSpec[], rng: Rng): Recipe[] {
  const target = packages.filter((p) => !p.native).map((p) => p.pn);
  const cap = (items: string[]) =>
    items.length <= 250 ? items : items.filter((_, i) => i % Math.ceil(items.length / 250) === 0);
  const names = ["isar-image-base", "isar-image-ci"];
  const recipes: Recipe[] = [];
  for (let i = 0; i < count; i++) {
    let pn = names[i];
    while (!pn || recipes.some((r) => r.pn === pn)) {
      pn = `isar-image-${rng.pick(SYLLABLES)}${rng.pick(SYLLABLES)}`;
    }
    const install = i === 0
      ? cap(target.filter((p) => !p.startsWith("lib")))
      : cap(target.filter(() => rng.chance(0.2)));
    if (install.length === 0 && target.length > 0) install.push(rng.pick(target));
    recipes.push({
      pn,
      pv: "1.0",
      pr: "r0",
      kind: "image",
      arch: "arm64",
      vars: {
        ...IMAGE_VARS,
        IMAGE_INSTALL: install.join(" "),
        IMAGE_PREINSTALL: i === 0 ? "systemd openssh-server" : "",
        WICVARS_DIR: `/build/tmp/work/debian-bookworm-arm64/${pn}-qemuarm64/wicvars`,
      },
      funcs: new Set(),
      postfuncs: {},
      files: [],
    });
  }
  return recipes;
}

/** Parses `[PN:]VAR=VALUE` or `[PN:]VAR+=VALUE`. */
export function parseChange(text: string): Change {
  const m = /^(?:([^:=+\s]+):)?([A-Za-z0-9_\-\[\]]+)(\+?=)(.*)$/s.exec(text);
  if (!m) throw new Error(`invalid change '${text}': expected [PN:]VAR=VALUE or [PN:]VAR+=VALUE`);
  return { pn: m[1], name: m[2], op: m[3] as Change["op"], value: m[4] };
}

function variantChanges(variant: string, packages: PackageSpec[]): Change[] {
  const every10th = packages.filter((_, i) => i % 10 === 3);
  switch (variant) {
    case "A":
      return [];
    case "A0":
      return every10th.map((p) => ({
        pn: p.pn,
        name: "DEBIAN_DEPENDS",
        op: "=",
        value: debianDepends(p).replace("libc6", "libc6 (>= 2.34)") || "libc6 (>= 2.34)",
      }));
    case "B":
      return [
        {
          pn: "isar-mmdebstrap-target",
          name: "DISTRO_BOOTSTRAP_BASE_PACKAGES",
          op: "+=",
          value: "usrmerge",
        },
        ...every10th.map((p): Change => ({
          pn: p.pn,
          name: "do_dpkg_build",
          op: "=",
          value: `\tcd \${S}\n\techo "building ${p.pn}" > build.log\n\tdpkg_runbuild\n` +
            "\tinstall -m 0644 build.log ${WORKDIR}/deb/\n",
        })),
        { pn: "isar-image-base", name: "IMAGE_INSTALL", op: "+=", value: NEW_TOOL.pn },
      ];
    default:
      throw new Error(
        `unknown variant '${variant}' (known: ${Object.keys(VARIANTS).join(", ")})`,
      );
  }
}

function applyChanges(recipes: Recipe[], changes: readonly Change[]): void {
  for (const c of changes) {
    const targets = c.pn === undefined ? recipes : recipes.filter((r) => r.pn === c.pn);
    if (targets.length === 0) throw new Error(`change of ${c.name}: no recipe '${c.pn}'`);
    for (const r of targets) {
      const old = r.vars[c.name] ?? COMMON[c.name];
      r.vars[c.name] = c.op === "+=" && old ? `${old} ${c.value}` : c.value;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Signatures

interface TaskDef {
  task: string;
  deps: string[];
  sstate: boolean;
}

const refCache = new Map<string, { vars: string[]; words: string[] }>();

/** Names a value references: `${VAR}`, `getVar('VAR'`, and words that may be function calls. */
function referencesOf(value: string): { vars: string[]; words: string[] } {
  let refs = refCache.get(value);
  if (!refs) {
    const vars = new Set<string>();
    for (const m of value.matchAll(/\$\{([A-Za-z0-9_\-\[\]]+)\}/g)) vars.add(m[1]);
    for (const m of value.matchAll(/getVar\(['"]([A-Za-z0-9_\-]+)['"]/g)) vars.add(m[1]);
    refs = { vars: [...vars], words: [...new Set(value.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? [])] };
    refCache.set(value, refs);
  }
  return refs;
}

class RecipeVars {
  #gendeps = new Map<string, Set<string>>();
  constructor(readonly recipe: Recipe) {}

  value(name: string): string | null {
    return this.recipe.vars[name] ?? COMMON[name] ?? null;
  }

  isFunction(name: string): boolean {
    return COMMON_FUNCS.has(name) || this.recipe.funcs.has(name);
  }

  /** The variables a variable or function directly depends on (bitbake's gendeps). */
  gendeps(name: string): Set<string> {
    let deps = this.#gendeps.get(name);
    if (deps) return deps;
    deps = new Set();
    const value = this.value(name);
    if (value !== null) {
      const refs = referencesOf(value);
      for (const v of refs.vars) deps.add(v);
      for (const w of refs.words) if (w !== name && this.isFunction(w)) deps.add(w);
      const shellFunc = (name.startsWith("do_") || this.isFunction(name)) &&
        !PYTHON_FUNCS.has(name) && !name.includes("[");
      if (shellFunc) { for (const e of EXPORTED) deps.add(e); }
      for (const d of deps) if (IGNORED.has(d) || VARDEPS_EXCLUDE.has(d)) deps.delete(d);
    }
    this.#gendeps.set(name, deps);
    return deps;
  }
}

function taskDefs(r: Recipe, known: Set<string>, vars: RecipeVars): TaskDef[] {
  const t = (task: string) => `${r.pn}:do_${task}`;
  const words = (name: string) => (vars.value(name) ?? "").split(/\s+/).filter((w) => known.has(w));
  const deployDebs = (name: string) => words(name).map((p) => `${p}:do_deploy_deb`);
  const side = r.arch === "arm64" ? "target" : "host";
  const head: TaskDef[] = [
    { task: "fetch", deps: [], sstate: false },
    { task: "unpack", deps: [t("fetch")], sstate: false },
  ];
  switch (r.kind) {
    case "package":
      return [
        ...head,
        { task: "prepare_build", deps: [t("unpack")], sstate: false },
        {
          task: "local_isarapt",
          deps: [t("prepare_build"), ...deployDebs("DEPENDS")],
          sstate: false,
        },
        {
          task: "dpkg_build",
          deps: [t("local_isarapt"), `sbuild-chroot-${side}:do_build`],
          sstate: true,
        },
        { task: "deploy_deb", deps: [t("dpkg_build"), ...deployDebs("DEPENDS")], sstate: false },
        { task: "build", deps: [t("deploy_deb")], sstate: false },
      ];
    case "bootstrap":
      return [
        ...head,
        { task: "generate_keyrings", deps: [t("unpack")], sstate: false },
        { task: "bootstrap", deps: [t("generate_keyrings")], sstate: true },
        { task: "build", deps: [t("bootstrap"), t("generate_keyrings")], sstate: false },
      ];
    case "sbuild-chroot":
      return [
        ...head,
        {
          task: "rootfs_install",
          deps: [t("unpack"), `isar-mmdebstrap-${side}:do_build`],
          sstate: true,
        },
        { task: "rootfs_postprocess", deps: [t("rootfs_install")], sstate: false },
        { task: "rootfs", deps: [t("rootfs_postprocess")], sstate: false },
        { task: "sbuildchroot_deploy", deps: [t("rootfs")], sstate: false },
        { task: "build", deps: [t("rootfs"), t("sbuildchroot_deploy")], sstate: false },
      ];
    case "image":
      return [
        ...head,
        {
          task: "rootfs_install",
          deps: [t("unpack"), "isar-mmdebstrap-target:do_build", ...deployDebs("IMAGE_INSTALL")],
          sstate: true,
        },
        { task: "copy_boot_files", deps: [t("rootfs_install")], sstate: true },
        {
          task: "rootfs_postprocess",
          deps: [t("copy_boot_files"), t("rootfs_install")],
          sstate: false,
        },
        { task: "rootfs", deps: [t("rootfs_postprocess")], sstate: false },
        { task: "image", deps: [t("rootfs")], sstate: false },
        { task: "rootfs_wicenv", deps: [t("rootfs")], sstate: false },
        { task: "image_wic", deps: [t("image"), t("rootfs_wicenv")], sstate: false },
        { task: "deploy", deps: [t("image_wic")], sstate: true },
        { task: "build", deps: [t("deploy"), t("image"), t("rootfs")], sstate: false },
      ];
  }
}

/** The signature of one task, without taskhash/unihash; `basehash` is computed. */
function baseSignature(r: Recipe, def: TaskDef, vars: RecipeVars): SiginfoData {
  const task = `do_${def.task}`;
  const roots = [...vars.gendeps(task)];
  if (def.sstate) roots.push("sstate_task_prefunc", "sstate_task_postfunc");
  roots.push(...(r.postfuncs[def.task] ?? []), ...(TASK_VARDEPS[def.task] ?? []));
  const taskdeps = new Set<string>();
  const queue = roots.filter((d) => d !== task);
  while (queue.length > 0) {
    const dep = queue.pop()!;
    if (taskdeps.has(dep) || dep === task) continue;
    taskdeps.add(dep);
    queue.push(...vars.gendeps(dep));
  }
  const varvals: Record<string, string | null> = { [task]: vars.value(task) };
  const gendeps: Record<string, Set<string>> = {};
  for (const dep of taskdeps) {
    varvals[dep] = vars.value(dep);
    gendeps[dep] = vars.gendeps(dep);
  }
  const sig: SiginfoData = {
    task,
    basehash_ignore_vars: IGNORED,
    taskhash_ignore_tasks: null,
    taskdeps,
    basehash: "",
    gendeps,
    varvals,
    runtaskdeps: pythonSort(def.deps),
    file_checksum_values: def.task === "fetch" ? r.files : [],
    runtaskhashes: {},
    taskhash: "",
    unihash: "",
  };
  sig.basehash = calcBasehash(sig);
  return sig;
}

/** `HH/hh/sstate:…_task.tar.zst`, shortened as Isar's generate_sstatefn does. */
function archivePath(r: Recipe, task: string, hash: string): string {
  const fetchLike = task === "fetch" || task === "unpack";
  const ext = ".tar.zst";
  const limit = 254 - 8;
  const c = fetchLike
    ? ["sstate", r.pn, "", r.pv, r.pr, "", "10", ""]
    : ["sstate", r.pn, `${r.arch}-isar`, r.pv, r.pr, r.arch, "10", ""];
  const tail = `${hash}_${task}${ext}`;
  if (c.join(":").length + tail.length > limit) {
    const avail = Math.floor(
      (limit - tail.length - c[0].length - c[1].length - c[5].length - c[6].length - 7) / 3,
    );
    for (const i of [2, 3, 4]) c[i] = c[i].slice(0, avail);
  }
  return `${hash.slice(0, 2)}/${hash.slice(2, 4)}/${c.join(":")}${tail}`;
}

function archiveSizeFor(task: string, name: string, opts: ExampleCacheOptions): number {
  const size = opts.archiveSize;
  if (size === undefined) return DEFAULT_ARCHIVE_SIZES[task] ?? 1024;
  if (typeof size === "number") return size;
  const u = new Rng(`${opts.seed ?? "isar"}\0size\0${name}`).next();
  return Math.round(size.min * Math.pow(size.max / size.min, u));
}

/** Computes the whole build (every task's signature and file names) without writing anything. */
export function buildExampleGraph(opts: ExampleCacheOptions = {}): ExampleGraph {
  const seed = opts.seed ?? "isar";
  const variant = opts.variant ?? "A";
  const rng = new Rng(seed);
  const specs = generatePackages(opts.recipes ?? 10, rng);
  const changes = variantChanges(variant, specs);
  if (variant === "B") specs.push(NEW_TOOL);
  const recipes = [
    ...baseRecipes(seed),
    ...specs.map((s) => packageRecipe(s, seed)),
    ...imageRecipes(opts.images ?? 2, specs.filter((s) => s !== NEW_TOOL), rng),
  ];
  applyChanges(recipes, [
    ...changes,
    ...(opts.changes ?? []).map((c) => (typeof c === "string" ? parseChange(c) : c)),
  ]);

  const known = new Set(recipes.map((r) => r.pn));
  const pending = new Map<string, { recipe: Recipe; def: TaskDef; sig: SiginfoData }>();
  for (const r of recipes) {
    const vars = new RecipeVars(r);
    for (const def of taskDefs(r, known, vars)) {
      pending.set(`${r.pn}:do_${def.task}`, { recipe: r, def, sig: baseSignature(r, def, vars) });
    }
  }

  const byTid = new Map<string, ExampleTask>();
  const visiting = new Set<string>();
  const resolve = (tid: string): ExampleTask => {
    const done = byTid.get(tid);
    if (done) return done;
    const item = pending.get(tid);
    if (!item) throw new Error(`unknown task ${tid}`);
    if (visiting.has(tid)) throw new Error(`dependency cycle through ${tid}`);
    visiting.add(tid);
    const { recipe, def, sig } = item;
    for (const dep of sig.runtaskdeps) sig.runtaskhashes[dep] = resolve(dep).sig.taskhash;
    sig.taskhash = sig.unihash = calcTaskhash(sig);
    visiting.delete(tid);
    const task: ExampleTask = { tid, pn: recipe.pn, task: def.task, arch: recipe.arch, sig };
    if (def.task !== "build") {
      const path = archivePath(recipe, def.task, sig.unihash);
      if (def.sstate) {
        task.archive = path;
        task.archiveSize = archiveSizeFor(def.task, path, opts);
      }
      if (def.sstate || opts.siginfo !== "sstate") task.siginfo = `${path}.siginfo`;
    }
    byTid.set(tid, task);
    return task;
  };
  const tasks = [...pending.keys()].map(resolve);
  return { tasks, byTid };
}

// ---------------------------------------------------------------------------------------------
// Files

function pythonJson(value: unknown): string {
  if (value instanceof Set) return `{"_set_object":${pythonJson(pythonSort(value))}}`;
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const items = pythonSort(Object.keys(obj)).map((k) => `${pythonJson(k)}:${pythonJson(obj[k])}`);
    return `{${items.join(",")}}`;
  }
  // Python's json.dumps escapes everything outside ASCII (ensure_ascii).
  return JSON.stringify(value).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Encodes a signature as bitbake 2.8 writes it: sorted compact JSON in one zstd frame. */
export function encodeSiginfo(sig: SiginfoData): Uint8Array {
  return zstdCompressSync(new TextEncoder().encode(pythonJson(sig)), {
    params: { [constants.ZSTD_c_checksumFlag]: 1, [constants.ZSTD_c_contentSizeFlag]: 0 },
  });
}

/** Seeded pseudo-random bytes (xorshift128), deterministic for a given seed text. */
function randomBytes(size: number, seed: string): Uint8Array {
  const out = new Uint8Array(Math.ceil(size / 4) * 4);
  const words = new Uint32Array(out.buffer);
  const h = createHash("sha256").update(seed).digest();
  let x = h.readUInt32LE(0) | 1,
    y = h.readUInt32LE(4),
    z = h.readUInt32LE(8),
    w = h.readUInt32LE(12);
  for (let i = 0; i < words.length; i++) {
    const t = x ^ (x << 11);
    x = y;
    y = z;
    z = w;
    w = w ^ (w >>> 19) ^ t ^ (t >>> 8);
    words[i] = w;
  }
  return out.subarray(0, size);
}

/** Generates an example cache into `dir` (created if needed; existing files are overwritten). */
export async function makeExampleCache(
  dir: string,
  opts: ExampleCacheOptions = {},
): Promise<ExampleCacheResult> {
  const graph = buildExampleGraph(opts);
  const seed = opts.seed ?? "isar";
  const jobs: { path: string; data: () => Uint8Array }[] = [];
  for (const t of graph.tasks) {
    if (t.archive !== undefined) {
      const path = t.archive, size = t.archiveSize ?? 0;
      jobs.push({ path, data: () => randomBytes(size, `${seed}\0${path}`) });
    }
    if (t.siginfo !== undefined) jobs.push({ path: t.siginfo, data: () => encodeSiginfo(t.sig) });
  }
  for (const d of new Set(jobs.map((j) => j.path.slice(0, 5)))) {
    await Deno.mkdir(join(dir, d), { recursive: true });
  }
  let bytes = 0, next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      const data = job.data();
      bytes += data.length;
      await Deno.writeFile(join(dir, job.path), data);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return {
    ...graph,
    dir,
    files: jobs.map((j) => j.path),
    archives: graph.tasks.filter((t) => t.archive).length,
    siginfos: graph.tasks.filter((t) => t.siginfo).length,
    bytes,
  };
}

// ---------------------------------------------------------------------------------------------
// CLI

const USAGE = `usage: make-example-cache.ts --out DIR [options]

Writes a realistic Isar sstate cache (archives of seeded random bytes, real bitbake 2.8 siginfo).
An existing DIR is merged into (run twice with different variants for a "remote" with history).

options:
  --out DIR              target directory (required)
  --recipes N            package recipes (default 10)
  --images N             image recipes (default 2)
  --seed TEXT            seed of names, dependencies and bytes (default "isar")
  --archive-size SIZE    archive size: BYTES or MIN-MAX (log-uniform), suffixes K and M allowed
                         (default: small per-task sizes, 512 B .. 8 KiB)
  --variant NAME         build variant (default A):
${Object.entries(VARIANTS).map(([k, v]) => `                           ${k}: ${v}`).join("\n")}
  --change [PN:]VAR=VAL  set a variable (in one recipe or all); VAR+=VAL appends; repeatable
  --siginfo all|sstate   write .siginfo for all executed tasks (default) or only sstate tasks
  -h, --help             show this help

examples:
  --out remote --variant A0 && --out remote --variant A && --out local --variant B
      two caches for analyze: a remote with history and a developer's local cache
  --out up --recipes 2490 --siginfo sstate --archive-size 4K-1M
      5,000 files (2,500 archives + 2,500 siginfo, about 470 MiB) for an upload benchmark`;

function parseSize(text: string): number {
  const m = /^(\d+)([kKmM]?)$/.exec(text.trim());
  if (!m) throw new Error(`invalid size '${text}'`);
  return Number(m[1]) * ({ "": 1, k: 1024, m: 1024 * 1024 }[m[2].toLowerCase()] ?? 1);
}

/** Parses `--archive-size`: `BYTES` or `MIN-MAX`, with optional K/M suffixes. */
export function parseArchiveSize(text: string): number | { min: number; max: number } {
  const [a, b] = text.split("-");
  if (b === undefined) return parseSize(a);
  const range = { min: parseSize(a), max: parseSize(b) };
  if (range.min <= 0 || range.max < range.min) throw new Error(`invalid size range '${text}'`);
  return range;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      out: { type: "string" },
      recipes: { type: "string" },
      images: { type: "string" },
      seed: { type: "string" },
      "archive-size": { type: "string" },
      variant: { type: "string" },
      change: { type: "string", multiple: true },
      siginfo: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.out) throw new Error("--out DIR is required");
  const count = (name: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text)) throw new Error(`--${name}: not a number: '${text}'`);
    return Number(text);
  };
  if (values.siginfo !== undefined && !["all", "sstate"].includes(values.siginfo)) {
    throw new Error(`--siginfo must be 'all' or 'sstate'`);
  }
  const started = performance.now();
  const result = await makeExampleCache(values.out, {
    recipes: count("recipes", values.recipes),
    images: count("images", values.images),
    seed: values.seed,
    variant: values.variant,
    changes: values.change,
    archiveSize: values["archive-size"] ? parseArchiveSize(values["archive-size"]) : undefined,
    siginfo: values.siginfo as ExampleCacheOptions["siginfo"],
  });
  const secs = ((performance.now() - started) / 1000).toFixed(2);
  console.log(
    `wrote ${result.files.length} files (${result.archives} archives, ${result.siginfos} ` +
      `siginfo, ${(result.bytes / 1048576).toFixed(1)} MiB) to ${values.out} in ${secs} s`,
  );
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    console.error(`error: ${err instanceof Error ? err.message : err}`);
    console.error(USAGE.split("\n")[0]);
    Deno.exit(2);
  }
}
