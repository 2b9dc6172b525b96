#!/usr/bin/env bash
# start-rgw.sh CLUSTER_DIR PORT STATE_DIR
#   One more radosgw on the Ceph cluster that start-s3.sh runs in CLUSTER_DIR, on
#   http://127.0.0.1:PORT, serving the same users and buckets: a gateway that a test may stop
#   (SIGSTOP), hang or kill without disturbing the tests that use the cluster's own gateway.
#   STATE_DIR holds its stop-order and TTL watchdog; stop it with stop-server.sh STATE_DIR.
#   Starts in a second or two (the cluster's pools exist already).
#
# Environment:
#   LAB_TTL=1800       a watchdog stops the gateway after this many seconds (0: never)
#   RGW_SSL_CERT=PEM   serve https://127.0.0.1:PORT (beast's own TLS) with this certificate
#   RGW_SSL_KEY=PEM    and this key (both needed for https)
#   RGW_ARGS="..."     more radosgw options, e.g. "--rgw-s3-auth-use-sts=true"
# Prints S3_ENDPOINT=... and S3_PID=... lines.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"

cluster=${1:?usage: start-rgw.sh CLUSTER_DIR PORT STATE_DIR}
port=${2:?usage: start-rgw.sh CLUSTER_DIR PORT STATE_DIR}
state=${3:?usage: start-rgw.sh CLUSTER_DIR PORT STATE_DIR}
[[ "$port" =~ ^[0-9]+$ ]] && ((port > 1024 && port < 65535)) || {
  echo "error: PORT must be 1025..65534" >&2
  exit 2
}
c=$(cd "$cluster/ceph" && pwd)
conf="$c/ceph.conf"
[[ -f "$conf" ]] || {
  echo "error: no Ceph cluster in $cluster (start it with start-s3.sh)" >&2
  exit 2
}
lab_port_free "$port"
mkdir -p "$state"
state=$(cd "$state" && pwd)
name="client.rgw.gw$port"
pidfile="$c/run/$name.pid"
rm -f "$pidfile"
printf '%s\t%s\n' "$pidfile" "$name" >"$state/stop-order"
fail() {
  echo "error: $1; see $c/log/$name.log" >&2
  "$here/stop-server.sh" "$state" 5 >&2
  exit 1
}
frontend="beast endpoint=127.0.0.1:$port" scheme=http
if [[ -n "${RGW_SSL_CERT:-}" ]]; then
  frontend="beast ssl_endpoint=127.0.0.1:$port ssl_certificate=$RGW_SSL_CERT"
  frontend+=" ssl_private_key=${RGW_SSL_KEY:?RGW_SSL_KEY is needed with RGW_SSL_CERT}"
  scheme=https
fi
# radosgw forks into the background once it is connected to the cluster.
# shellcheck disable=SC2086 # RGW_ARGS is a list of options
radosgw -c "$conf" -n "$name" --rgw-frontends="$frontend" --rgw-thread-pool-size=32 \
  ${RGW_ARGS:-} >"$state/start.out" 2>&1 || fail "radosgw did not start"
lab_wait_port 127.0.0.1 "$port" 60 || fail "radosgw does not listen"
for ((i = 0; i < 50; i++)); do [[ -s "$pidfile" ]] && break; sleep 0.1; done
[[ -s "$pidfile" ]] || fail "radosgw wrote no pid file"
lab_watchdog "$state" "$(cat "$pidfile")" "${LAB_TTL:-1800}"
echo "S3_ENDPOINT=$scheme://127.0.0.1:$port"
echo "S3_PID=$(cat "$pidfile")"
