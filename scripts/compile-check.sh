#!/usr/bin/env bash
# Checks that the whole module graph (including npm packages and the worker scripts) embeds into a
# compiled binary, built as scripts/compile.sh builds it. Uses the local Deno as the runtime, since
# the release runtime cannot be downloaded offline: the output proves the graph embeds, it is not a
# working isar-sstate binary.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
deno_bin=$(bash scripts/deno.sh eval 'console.log(Deno.execPath())')
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
DENORT_BIN="$deno_bin" bash scripts/compile.sh --output "$out/isar-sstate" >/dev/null
echo "compile check: module graph embeds ($(du -h "$out/isar-sstate" | cut -f1) binary)"
