/**
 * Checks the layering of src/ (README, "Architecture"): imports point down only
 * (cli → commands → sync → siginfo → cache → backends), no import cycle, each backend folder
 * imports only the shared modules of src/backends/ and http/ (never another backend folder nor
 * the registry), and only src/cli/ touches the process and the terminal. Static and dynamic
 * imports count, and the workers a module starts. Prints each violation; exit code 1 if any.
 *
 *   bash scripts/deno.sh run --allow-read scripts/check-layers.ts
 */
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The layers, top down. */
const LAYERS = ["cli", "commands", "sync", "siginfo", "cache", "backends"] as const;
/** The modules of src/backends/ that its folders (file/, webdav/, s3/, http/) may import. */
const SHARED = [
  "backend.ts",
  "url.ts",
  "retry.ts",
  "delegating.ts",
  "clock.ts",
  "event_loop.ts",
  "libc.ts",
  "threads.ts",
];
/** The process and the terminal: only src/cli/ uses them. */
const PROCESS_API =
  /\bDeno\.(exit|args|stdin|stdout|stderr|addSignalListener|removeSignalListener|Command|kill|consoleSize)\b|\bconsole\./;
/**
 * A relative import, type-only import or worker script of a module: a statement ending in `from
 * "…"` (or a bare `import "…"`), `import("…")`, or `new URL("…", import.meta.url)`.
 */
const IMPORT =
  /(?:^(import|export)(\s+type\b)?[^;]*?\bfrom\s*|^import\s+|\bimport\s*\(\s*|(new URL)\(\s*)["'](\.{1,2}\/[^"']+\.ts)["']/gms;

/** An import: which module, and whether it loads it (not for types only, not as a worker). */
export interface Import {
  to: string;
  loads: boolean;
}

/** Every module of `src` (paths relative to it) with what it imports. */
export function importGraph(src: string): Map<string, Import[]> {
  const graph = new Map<string, Import[]>();
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(join(src, dir))) {
      const path = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory) walk(path);
      else if (e.name.endsWith(".ts")) {
        const text = Deno.readTextFileSync(join(src, path));
        graph.set(
          path,
          [...text.matchAll(IMPORT)].map((m) => ({
            to: normalize(join(dirname(path), m[4])),
            loads: !m[2] && !m[3],
          })),
        );
      }
    }
  };
  walk("");
  return graph;
}

function layerOf(path: string): number {
  return LAYERS.indexOf(path.split("/")[0] as typeof LAYERS[number]);
}

/**
 * Why `from` may not import `to` (both in src/backends/), or null: a backend folder imports its
 * own modules, the shared modules and http/; only the registry imports the backend folders.
 */
function backendRule(from: string, to: string): string | null {
  const [, fromTop, ...fromRest] = from.split("/");
  const [, toTop, ...toRest] = to.split("/");
  if (toRest.length === 0) {
    if (fromRest.length === 0 || SHARED.includes(toTop)) return null;
    return "backend folders import only the shared modules of src/backends/ and http/";
  }
  if (fromRest.length === 0) {
    return fromTop === "registry.ts" ? null : "only the registry imports the backend folders";
  }
  if (toTop === fromTop || toTop === "http") return null;
  return "a backend folder never imports another";
}

/** The violations of the layering rules in `src`, one line each. */
export function layerViolations(src: string): string[] {
  const graph = importGraph(src);
  const out: string[] = [];
  for (const [from, deps] of graph) {
    const layer = layerOf(from);
    for (const { to } of deps) {
      if (to.startsWith("..")) continue; // deno.json
      if (!graph.has(to)) out.push(`${from}: imports ${to}, which does not exist`);
      else if (layer >= 0 && layerOf(to) < layer) {
        out.push(`${from}: imports ${to}, a higher layer`);
      } else if (from.startsWith("backends/") && to.startsWith("backends/")) {
        const broken = backendRule(from, to);
        if (broken) out.push(`${from}: imports ${to} (${broken})`);
      }
    }
    if (!from.startsWith("cli/") && PROCESS_API.test(Deno.readTextFileSync(join(src, from)))) {
      out.push(`${from}: uses the process or the terminal (only src/cli/ does)`);
    }
  }
  for (const cycle of cycles(graph)) out.push(`import cycle: ${cycle.join(" → ")}`);
  return out;
}

/** The cycles of imports that load modules in `graph`, each once. */
function cycles(graph: Map<string, Import[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const { to: next, loads } of graph.get(node) ?? []) {
      if (!loads) continue;
      if (state.get(next) === "open") found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next) && graph.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

if (import.meta.main) {
  const src = fileURLToPath(new URL("../src/", import.meta.url));
  const violations = layerViolations(src);
  for (const v of violations) console.log(v);
  const modules = importGraph(src).size;
  console.log(
    violations.length === 0
      ? `layers: ${modules} modules of ${relative(Deno.cwd(), src) || "."}, no import up, no cycle`
      : `layers: ${violations.length} violations`,
  );
  Deno.exit(violations.length === 0 ? 0 : 1);
}
