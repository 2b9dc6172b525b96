#!/usr/bin/env bash
# Runs the project's pinned Deno, installing it from the npm package `deno` on first use.
set -euo pipefail
DENO_VERSION=2.9.6
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
local_deno="$root/.tools/node_modules/.bin/deno"

if [ -n "${DENO:-}" ]; then
  exec "$DENO" "$@"
fi
if command -v deno >/dev/null 2>&1 && deno --version 2>/dev/null | grep -q "^deno $DENO_VERSION "; then
  exec deno "$@"
fi
if [ ! -x "$local_deno" ]; then
  echo "installing Deno $DENO_VERSION from npm into .tools/ ..." >&2
  npm install --prefix "$root/.tools" --no-save --no-audit --no-fund --loglevel=error \
    "deno@$DENO_VERSION" >&2
fi
exec "$local_deno" "$@"
