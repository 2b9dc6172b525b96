#!/usr/bin/env bash
# Runs the whole test suite and ends with one line: "N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
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
NO_COLOR=1 bash scripts/deno.sh test -A --parallel "$@" tests/ 2>&1 | tee "$log"
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
