#!/usr/bin/env bash
# Builds isar-sstate as one binary from the staged tree (scripts/stage.ts: the module graph, the
# worker scripts, and the git revision for --version).
#
#   compile.sh [x86_64|aarch64]     dist/isar-sstate (this host), or dist/isar-sstate-ARCH-linux
#   compile.sh --output FILE [ARCH]  the binary at FILE
#   compile.sh --standin DIR         DIR/isar-sstate, a stand-in where no binary can be built: the
#                                    same staged tree run by deno from DIR, with the binary's flags
#
# `deno compile` downloads Deno's runtime for the target once (DENORT_BIN names a local one instead;
# see scripts/compile-check.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deno() { bash "$root/scripts/deno.sh" "$@"; }
# What the binary runs with: every permission, and a heap that stays small during long uploads.
run_flags=(-A --v8-flags=--max-semi-space-size=1,--heap-growing-percent=50)

output="" standin="" target=""
while [ $# -gt 0 ]; do
  case "$1" in
  --output) output=${2:?--output needs a FILE} && shift 2 ;;
  --standin) standin=${2:?--standin needs a DIR} && shift 2 ;;
  x86_64 | aarch64) target=$1 && shift ;;
  *) echo "usage: compile.sh [--output FILE] [x86_64|aarch64] | --standin DIR" >&2 && exit 2 ;;
  esac
done

if [ -n "$standin" ]; then
  mkdir -p "$standin"
  standin=$(cd "$standin" && pwd)
  deno run -A --quiet "$root/scripts/stage.ts" "$standin/app" >/dev/null
  deno_bin=$(deno eval 'console.log(Deno.execPath())')
  {
    echo '#!/bin/sh'
    echo '# Stand-in for the isar-sstate binary: the staged tree, run by deno away from the checkout.'
    printf 'exec %q run --quiet --config %q' "$deno_bin" "$standin/app/deno.json"
    printf ' %q' "${run_flags[@]}" "$standin/app/main.ts"
    echo ' "$@"'
  } >"$standin/isar-sstate"
  chmod +x "$standin/isar-sstate"
  echo "$standin/isar-sstate"
  exit 0
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
scripts=$(deno run -A --quiet "$root/scripts/stage.ts" "$stage") # the scripts to --include
includes=()
for script in $scripts; do includes+=(--include "$script"); done
target_flags=()
if [ -n "$target" ]; then
  target_flags=(--target "$target-unknown-linux-gnu")
  output=${output:-$root/dist/isar-sstate-$target-linux}
fi
output=${output:-$root/dist/isar-sstate}
mkdir -p "$(dirname "$output")"
output=$(cd "$(dirname "$output")" && pwd)/$(basename "$output")
(cd "$stage" && deno compile --quiet --config deno.json "${run_flags[@]}" "${includes[@]}" \
  "${target_flags[@]}" --output "$output" main.ts)
echo "$output"
