/**
 * `watch` as a service, as far as this machine allows without systemd: a small supervisor runs
 * the README's systemd unit (its `ExecStart`, `KillSignal`, `TimeoutStopSec`) against a real
 * Apache, stops it as `systemctl stop` does and judges the stop as systemd would: exit status 0
 * is a clean stop (`inactive`), anything else marks the unit `failed`. A requested stop that
 * uploaded everything is clean; one that had to leave files behind exits 143 and says so.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { listFiles, tempDir } from "./helpers.ts";
import { assertDocumented } from "./json_schema.ts";
import { haveApache, startApache } from "./servers/apache.ts";
import { jsonEvents, type LiveTool, spawnTool, writeLikeBitbake } from "./watch_helpers.ts";

/** Deno's cache as it is, whatever HOME the tool runs with. */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
const README = fileURLToPath(new URL("../README.md", import.meta.url));

/** The `[Service]` settings of the README's unit. */
interface Unit {
  type: string;
  execStart: string[];
  killSignal: Deno.Signal;
  timeoutStopSec: number;
}

/** Reads the systemd unit example of the README (the one `ini` block). */
function readmeUnit(): Unit {
  const text = Deno.readTextFileSync(README);
  const block = /```ini\n([\s\S]*?)```/.exec(text)?.[1];
  assert.ok(block, "the README has a systemd unit example");
  const value = (key: string) => {
    const m = new RegExp(`^\\s*${key}=(.*)$`, "m").exec(block);
    assert.ok(m, `the unit sets ${key}`);
    return m[1].trim();
  };
  return {
    type: value("Type"),
    execStart: value("ExecStart").split(/\s+/),
    killSignal: value("KillSignal") as Deno.Signal,
    timeoutStopSec: Number(value("TimeoutStopSec")),
  };
}

/**
 * Stops a service as systemd does: KillSignal, then up to TimeoutStopSec for it to exit (a
 * SIGKILL after that). Returns what systemd would make of it.
 */
async function stopService(run: LiveTool, unit: Unit) {
  run.child.kill(unit.killSignal);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((r) => {
    timer = setTimeout(() => r("timeout"), unit.timeoutStopSec * 1000);
  });
  const ended = await Promise.race([run.child.status, timeout]);
  clearTimeout(timer);
  if (ended === "timeout") run.child.kill("SIGKILL");
  const { code, stdout, stderr } = await run.finish();
  const state = ended !== "timeout" && code === 0 ? "inactive" : "failed";
  return { state, code, stdout, stderr, killed: ended === "timeout" };
}

/** The unit's ExecStart with the README's example locations replaced by `src` and `target`. */
function execStart(unit: Unit, src: string, target: string, extra: string[]): string[] {
  const [binary, command, ...rest] = unit.execStart;
  assert.match(binary, /\/isar-sstate$/);
  assert.equal(command, "watch");
  assert.ok(!rest.includes("--"), "a service watches without wrapping a command");
  const positionals = rest.filter((a) => !a.startsWith("-"));
  assert.equal(positionals.length, 2, "SOURCE and TARGET");
  return [command, ...extra, src, target];
}

Deno.test("watch service: the README's unit is a simple service with a stop timeout above the flush bound", () => {
  const unit = readmeUnit();
  assert.equal(unit.type, "simple");
  assert.equal(unit.killSignal, "SIGTERM");
  // The flush after a stop takes at most a minute; systemd must not kill it half-way.
  assert.ok(unit.timeoutStopSec > 60, `TimeoutStopSec=${unit.timeoutStopSec}`);
});

Deno.test({
  name: "watch service: a stop after which everything is uploaded exits 0, every file flushed",
  ignore: !haveApache(),
  async fn() {
    const unit = readmeUnit();
    await using apache = await startApache();
    await using dir = await tempDir();
    const src = join(dir.path, "sstate");
    await Deno.mkdir(src);
    const env = { HOME: dir.path, DENO_DIR, XDG_CACHE_HOME: join(dir.path, "xdg") };
    // Files still settling when the stop comes: the flush must upload them.
    const args = execStart(unit, src, `${apache.url}cache/`, ["--json", "--settle", "3000"]);
    const run = spawnTool(args, { env });
    await run.until(/"event":"planned"/);
    const written: string[] = [];
    for (let n = 0; n < 25; n++) written.push(...writeLikeBitbake(src, n, "u"));
    await new Promise((r) => setTimeout(r, 300));
    const early = await listFiles(join(apache.dir, "cache")).catch(() => []);
    assert.ok(early.length < written.length, "files are pending when the stop comes");
    const stop = await stopService(run, unit);
    assert.equal(stop.killed, false, "it ended within TimeoutStopSec");
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.state, "inactive");
    assert.match(stop.stderr, /^interrupted: finishing the work in progress/m);
    assert.deepEqual(await listFiles(join(apache.dir, "cache")), written.sort());
    const events = jsonEvents(stop.stdout);
    for (const event of events) assertDocumented("watch-event", event);
    const done = events.at(-1)!;
    assert.equal(done.event, "done");
    assert.equal(done.exitCode, 0);
    assert.equal(done.notUploaded, 0);
    assert.equal(done.uploaded, written.length);
  },
});

Deno.test({
  name: "watch service: a stop that has to leave files behind exits 143 and says so",
  ignore: !haveApache(),
  async fn() {
    const unit = readmeUnit();
    await using apache = await startApache();
    await using dir = await tempDir();
    const src = join(dir.path, "sstate");
    await Deno.mkdir(src);
    const env = { HOME: dir.path, DENO_DIR, XDG_CACHE_HOME: join(dir.path, "xdg") };
    const run = spawnTool(execStart(unit, src, `${apache.url}cache/`, ["--json"]), { env });
    await run.until(/"event":"planned"/);
    await apache.stop(); // the target goes away: the files written now cannot be uploaded
    for (let n = 0; n < 5; n++) writeLikeBitbake(src, n, "l");
    await run.until(/"event":"down"/, 60_000);
    // The flush waits for the target; a second signal (as an impatient admin sends) cuts it.
    run.child.kill(unit.killSignal);
    await run.until(/^interrupted: finishing the work in progress/m);
    const stop = await stopService(run, unit);
    assert.equal(stop.code, 143, stop.stderr);
    assert.equal(stop.state, "failed");
    const events = jsonEvents(stop.stdout);
    for (const event of events) assertDocumented("watch-event", event);
    const done = events.at(-1)!;
    assert.equal(done.event, "done");
    assert.equal(done.exitCode, 143);
    assert.equal(done.notUploaded, 10);
    assert.match(stop.stderr, /^WARNING: 10 files were not uploaded; the next watch or upload/m);
  },
});
