/** The benchmark report: machine and tool facts plus one markdown section per benchmark. */

/** A markdown table. */
export interface Table {
  headers: string[];
  rows: string[][];
}

/** A performance target and whether the measurement meets it. */
export interface Target {
  name: string;
  measured: string;
  limit: string;
  met: boolean;
}

/** What one benchmark section reports. */
export interface BenchSection {
  title: string;
  /** Paragraphs before the tables (setup, data set). */
  intro?: string[];
  tables?: Table[];
  targets?: Target[];
  /** Bullet points after the tables. */
  notes?: string[];
  /** Versions of the tools this section ran, by name. */
  versions?: Record<string, string>;
}

/** Where and with what the benchmarks ran. */
export interface Environment {
  date: string;
  machine: Record<string, string>;
  versions: Record<string, string>;
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}

/** First line of a command's output, or `null` when it cannot run. */
export async function firstLine(cmd: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdin: "null" }).output();
    if (out.code !== 0) return null;
    const text = new TextDecoder().decode(out.stdout) || new TextDecoder().decode(out.stderr);
    return text.trim().split("\n")[0];
  } catch {
    return null;
  }
}

/** Date, machine (nproc, CPU, memory, kernel, load, OS, filesystem), Deno/isar-sstate versions. */
export async function describeEnvironment(repo: string, workDir: string): Promise<Environment> {
  const cpuinfo = await readText("/proc/cpuinfo");
  const meminfo = await readText("/proc/meminfo");
  const osRelease = await readText("/etc/os-release");
  const loadavg = (await readText("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0);
  const config = JSON.parse(await readText(`${repo}/deno.json`) || "{}");
  const commit = await firstLine(["git", "-C", repo, "rev-parse", "--short", "HEAD"]);
  const dirty = await firstLine([
    "git",
    "-C",
    repo,
    "status",
    "--porcelain",
    "--",
    "src",
    "main.ts",
  ]);
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    machine: {
      nproc: String(navigator.hardwareConcurrency),
      "CPU model": /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown",
      memory: memKb ? `${(memKb / 1048576).toFixed(1)} GiB` : "unknown",
      kernel: Deno.osRelease(),
      "load average at start": loadavg || "unknown",
      OS: /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? Deno.build.os,
      "work dir filesystem": (await firstLine(["findmnt", "-n", "-o", "FSTYPE", "-T", workDir])) ??
        "unknown",
    },
    versions: {
      deno: `${Deno.version.deno} (V8 ${Deno.version.v8})`,
      "isar-sstate": `${config.version ?? "?"} (git ${commit ?? "?"}${
        dirty ? ", uncommitted changes" : ""
      })`,
    },
  };
}

function table(t: Table): string[] {
  const esc = (cell: string) => cell.replaceAll("|", "\\|");
  return [
    `| ${t.headers.map(esc).join(" | ")} |`,
    `|${t.headers.map(() => "---").join("|")}|`,
    ...t.rows.map((row) => `| ${row.map(esc).join(" | ")} |`),
  ];
}

/** Renders the whole report as markdown. */
export function renderResults(env: Environment, sections: BenchSection[]): string {
  const versions = { ...env.versions };
  for (const s of sections) Object.assign(versions, s.versions ?? {});
  const lines = [
    "# Benchmark results",
    "",
    "Written by `deno task bench` (scripts/bench.ts); rerun it to refresh this file.",
    "",
    `Date: ${env.date}`,
    "",
    "Machine:",
    "",
    ...Object.entries(env.machine).map(([k, v]) => `- ${k}: ${v}`),
    "",
    "Tools:",
    "",
    ...Object.entries(versions).map(([k, v]) => `- ${k}: ${v}`),
  ];
  for (const s of sections) {
    lines.push("", `## ${s.title}`);
    for (const p of s.intro ?? []) lines.push("", p);
    for (const t of s.tables ?? []) lines.push("", ...table(t));
    if (s.targets?.length) {
      lines.push(
        "",
        ...table({
          headers: ["target", "measured", "limit", "result"],
          rows: s.targets.map((t) => [t.name, t.measured, t.limit, t.met ? "met" : "NOT MET"]),
        }),
      );
    }
    if (s.notes?.length) lines.push("", ...s.notes.map((n) => `- ${n}`));
  }
  return lines.join("\n") + "\n";
}

/**
 * `existing` (a RESULTS.md) with the sections of `fresh` (a report of some sections only, run
 * with `--only` on `date`) in place of those of the same title, new ones at the end: the other
 * sections keep the figures of their own last run.
 */
export function mergeResults(existing: string, fresh: string, date: string): string {
  const split = (text: string) => {
    const parts = text.split(/^(?=## )/m);
    return { head: parts[0], sections: parts.slice(1) };
  };
  const old = split(existing);
  const title = (section: string) => section.slice(0, section.indexOf("\n"));
  const sections = [...old.sections];
  for (const section of split(fresh).sections) {
    const marked = section.replace(
      "\n",
      `\n\nThis section: ${date} (\`deno task bench --only\`).\n`,
    );
    const at = sections.findIndex((s) => title(s) === title(section));
    if (at >= 0) sections[at] = marked;
    else sections.push(marked.endsWith("\n\n") ? marked : `${marked.trimEnd()}\n\n`);
  }
  return (old.head + sections.join("")).trimEnd() + "\n";
}
