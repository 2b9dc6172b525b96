#!/usr/bin/env bash
# A tour on a small generated example: build variant A into a shared cache, then ask why a
# developer's build (variant B) misses that cache.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
tool() {
  echo
  echo "\$ isar-sstate $*"
  bash scripts/deno.sh run -A --quiet main.ts "$@"
}
gen() { bash scripts/deno.sh run -A --quiet scripts/make-example-cache.ts "$@" >/dev/null; }

rm -rf example
echo "generating example caches in example/ ..."
gen --out example/ci-build --recipes 8 --variant A
gen --out example/dev-build --recipes 8 --variant B

# A file bitbake is still writing (mktemp next to the final name) is never uploaded.
some_archive=$(find example/ci-build -name '*.tar.zst' | head -n 1)
echo "partial" >"$some_archive.Xk3v9QzT"

tool upload example/ci-build file://"$root"/example/shared-cache
tool upload example/ci-build example/shared-cache
tool info -v example/shared-cache
tool analyze --filter '(isar-mmdebstrap-target|isar-image-ci)$' example/dev-build example/shared-cache
tool clean --dry-run --max-age 1w example/shared-cache
