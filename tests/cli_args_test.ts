import assert from "node:assert/strict";
import { parseArgs } from "../src/cli/args.ts";

Deno.test("args: positionals map like argparse's 'command [source] target'", () => {
  assert.deepEqual(
    [parseArgs(["upload", "a", "b"]).source, parseArgs(["upload", "a", "b"]).target],
    ["a", "b"],
  );
  const one = parseArgs(["info", "t"]);
  assert.equal(one.source, undefined);
  assert.equal(one.target, "t");
  assert.equal(parseArgs([]).command, undefined);
});

Deno.test("args: options before, between and after positionals, = and separate values", () => {
  const p = parseArgs(["--max-age", "2w", "clean", "-v", "t", "--max-sig-age=4w", "-j8"]);
  assert.equal(p.command, "clean");
  assert.equal(p.target, "t");
  assert.equal(p.options.maxAge, "2w");
  assert.equal(p.options.maxSigAge, "4w");
  assert.equal(p.options.verbose, true);
  assert.equal(p.options.jobs, 8);
});

Deno.test("args: reference defaults", () => {
  const { options } = parseArgs(["info", "t"]);
  assert.equal(options.maxAge, "1d");
  assert.equal(options.maxSigAge, undefined);
  assert.equal(options.sourcesDir, "/work/");
  assert.equal(options.buildDir, "/build/tmp/");
  assert.equal(options.excludedTasks, "rootfs_wicenv,image_wic");
  assert.equal(options.color, "auto");
});

Deno.test("args: unique prefixes and bundled short flags", () => {
  const p = parseArgs(["info", "--verb", "--filt", "hello", "-vq", "t"]);
  assert.equal(p.options.verbose, true);
  assert.equal(p.options.quiet, true);
  assert.equal(p.options.filter, "hello");
  assert.throws(() => parseArgs(["info", "--max", "1d", "t"]), /ambiguous option: --max/);
});

Deno.test("args: a prefix the reference took for one of its options keeps that meaning", () => {
  // --max-s was --max-sig-age for the reference; --max-size, an option of ours, does not take it.
  assert.equal(parseArgs(["clean", "--max-s", "2w", "t"]).options.maxSigAge, "2w");
  assert.equal(parseArgs(["clean", "--max-si", "2w", "t"]).options.maxSigAge, "2w");
  assert.equal(parseArgs(["clean", "--max-siz", "2T", "t"]).options.maxSize, "2T");
  assert.throws(() => parseArgs(["clean", "--keep", "1", "t"]), /ambiguous option: --keep/);
});

Deno.test("args: '--' ends options, so a target may start with a dash", () => {
  const p = parseArgs(["info", "--", "-odd-name"]);
  assert.equal(p.target, "-odd-name");
});

Deno.test("args: syntax errors are UsageErrors with argparse's wording", () => {
  const cases: [string[], RegExp][] = [
    [["frobnicate", "t"], /invalid choice: 'frobnicate'/],
    [["info", "--bogus", "t"], /unrecognized arguments: --bogus/],
    [["upload", "a", "b", "c"], /unrecognized arguments: c/],
    [["info", "t", "--max-age"], /argument --max-age: expected one argument/],
    [["upload", "-j", "many", "a", "b"], /argument -j: invalid int value: 'many'/],
    [["info", "--color", "sometimes", "t"], /invalid choice: 'sometimes'/],
    [["info", "--verbose=yes", "t"], /ignored explicit argument/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => parseArgs(argv),
      (err: Error) => err.name === "UsageError" && message.test(err.message),
      argv.join(" "),
    );
  }
});

Deno.test("args: for watch, everything after '--' is the command to run", () => {
  const p = parseArgs(["watch", "-j4", "src", "dst", "--settle", "500", "--", "bitbake", "-k"]);
  assert.equal(p.command, "watch");
  assert.deepEqual([p.source, p.target], ["src", "dst"]);
  assert.equal(p.options.settle, 500);
  assert.equal(p.options.jobs, 4);
  assert.deepEqual(p.options.wrapped, ["bitbake", "-k"]);
  const own = parseArgs(["watch", "s", "d", "--", "sh", "-c", "x", "--help", "-v", "--"]);
  assert.deepEqual(own.options.wrapped, ["sh", "-c", "x", "--help", "-v", "--"]);
  assert.equal(own.options.help, false, "the command's options are its own");
  assert.equal(own.options.verbose, false);
  const options = parseArgs(["watch", "s", "d", "--rescan-interval=5", "--index-file", ""]).options;
  assert.deepEqual([options.rescanInterval, options.indexFile, options.wrapped], [
    5,
    "",
    undefined,
  ]);
  assert.throws(
    () => parseArgs(["watch", "s", "d", "--"]),
    (err: Error) =>
      err.name === "UsageError" && /expected a command to run after '--'/.test(err.message),
  );
  // Other commands keep '--' as the end of options.
  assert.deepEqual(parseArgs(["upload", "--", "-a", "-b"]).options.wrapped, undefined);
  assert.equal(parseArgs(["upload", "--", "-a", "-b"]).target, "-b");
});
