#!/usr/bin/env bash
# Runs the whole test suite and ends with one line: "N passed, N failed".
#
#   test.sh [--binary PATH] [DENO TEST OPTIONS]
#
# --binary PATH (or ISAR_SSTATE_TEST_BINARY=PATH) runs every test that runs the tool against PATH,
# a compiled isar-sstate, instead of `deno run main.ts` (tests of single modules still import them).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
options=()
while [ $# -gt 0 ]; do
  case "$1" in
  --binary) export ISAR_SSTATE_TEST_BINARY=${2:?--binary needs a PATH} && shift 2 ;;
  --binary=*) export ISAR_SSTATE_TEST_BINARY=${1#--binary=} && shift ;;
  *) options+=("$1") && shift ;;
  esac
done
if [ -n "${ISAR_SSTATE_TEST_BINARY:-}" ]; then
  binary=$ISAR_SSTATE_TEST_BINARY
  if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then
    echo "test.sh: '$binary' is not an executable file" >&2
    exit 2
  fi
  export ISAR_SSTATE_TEST_BINARY=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")
  echo "testing the binary $ISAR_SSTATE_TEST_BINARY: $("$ISAR_SSTATE_TEST_BINARY" --version)"
fi
cd "$root"
log=$(mktemp)
s3_state=""
cleanup() {
  rm -f "$log"
  if [ -n "$s3_state" ]; then
    bash scripts/servers/stop-server.sh "$s3_state" >/dev/null 2>&1
    rm -rf "$s3_state"
  fi
}
trap cleanup EXIT

# The servers the WebDAV and S3 tests run against come from Debian; installs them if missing
# (as root; otherwise says what to install).
bash scripts/setup-servers.sh || exit 1

# One S3 server (Ceph radosgw on 127.0.0.1) for all S3 tests of this run, described to them in
# S3_* variables. Without Ceph the S3 tests fail and say how to install it.
if [ -z "${S3_ENDPOINT:-}" ] && command -v ceph-mon >/dev/null 2>&1; then
  for attempt in 1 2 3; do # a random port pair may be taken: try another
    s3_state=$(mktemp -d /tmp/isar-sstate-s3.XXXXXX)
    port=$((20000 + RANDOM % 20000))
    if s3_env=$(LAB_TTL=3600 bash scripts/servers/start-s3.sh "$s3_state" "$port"); then
      set -a
      eval "$s3_env"
      set +a
      break
    fi
    bash scripts/servers/stop-server.sh "$s3_state" >/dev/null 2>&1
    rm -rf "$s3_state"
    s3_state=""
    echo "warning: radosgw did not start (attempt $attempt)" >&2
  done
fi
NO_COLOR=1 bash scripts/deno.sh test -A --parallel "${options[@]}" tests/ 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -n 1)
passed=$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$summary")
failed=$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$summary")
if [ -z "$summary" ]; then
  passed=0
  failed=1
fi
echo "${passed} passed, ${failed} failed"
exit "$status"
