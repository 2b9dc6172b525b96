#!/usr/bin/env bash
# start-s3.sh DIR PORT   S3 at http://127.0.0.1:PORT (path-style) with a bucket, for tests and
#                        benchmarks: Debian's radosgw on a private one-node Ceph cluster in DIR.
# start-s3.sh stop DIR   stops it again, by PID (see stop-server.sh).
#
# The cluster is one ceph-mon and one ceph-osd (BlueStore on a sparse file in DIR), cephx off,
# everything bound to 127.0.0.1. The first start takes about 20 s (mkfs, rgw pool creation); a
# restart on the same DIR keeps the data. Needs radosgw, ceph-mon and ceph-osd
# (scripts/setup-servers.sh installs them).
#
# Environment (all optional):
#   S3_BUCKET=sstate        bucket to create (empty: none)
#   S3_ACCESS_KEY / S3_SECRET_KEY   the user's credentials
#   S3_MON_PORT=PORT+1      monitor port (msgr v2) on 127.0.0.1
#   S3_CEPH_BLOCK_GB=10     size of the sparse BlueStore block file
#   LAB_TTL=1800            a watchdog stops the servers after this many seconds (0: never)
#
# Prints KEY=value lines (shell- and dotenv-compatible): S3_ENDPOINT S3_REGION S3_BUCKET
# S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY (the user owning the bucket), S3_OTHER_ACCESS_KEY_ID
# S3_OTHER_SECRET_ACCESS_KEY (a user owning nothing), S3_PID S3_OSD_PID S3_MON_PID S3_STATE
# S3_STOP.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"

if [[ "${1:-}" == stop ]]; then exec "$here/stop-server.sh" "${2:?usage: start-s3.sh stop DIR}"; fi

dir=${1:?usage: start-s3.sh DIR PORT}
port=${2:?usage: start-s3.sh DIR PORT}
[[ "$port" =~ ^[0-9]+$ ]] && ((port > 1024 && port < 65535)) || {
  echo "error: PORT must be 1025..65534" >&2
  exit 2
}
bucket=${S3_BUCKET-sstate}
region=us-east-1
ak=${S3_ACCESS_KEY:-TESTACCESSKEY0000001}
sk=${S3_SECRET_KEY:-testsecretkey000000000000000000000000001}
log() { echo "[start-s3] $*" >&2; }

for b in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph curl uuidgen; do
  command -v "$b" >/dev/null || {
    echo "error: $b missing: run scripts/setup-servers.sh (as root)" >&2
    exit 2
  }
done
lab_port_free "$port"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
c="$dir/ceph"
conf="$c/ceph.conf"
mkdir -p "$c/mon" "$c/osd/ceph-0" "$c/run" "$c/log"
fresh=0
if [[ ! -f "$c/fsid" ]]; then
  fresh=1
  uuidgen >"$c/fsid"
  echo "${S3_MON_PORT:-$((port + 1))}" >"$c/mon_port"
fi
fsid=$(cat "$c/fsid")
monport=$(cat "$c/mon_port")
lab_port_free "$monport"

# With auth "none" the daemons still default to the "secure"-only mon client mode and radosgw
# then hangs in "get_initial_auth_request returned -13": allow crc as well.
cat >"$conf" <<EOF
# private one-node cluster for tests: loopback only, no cephx
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$monport
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.0/8
ms bind msgr1 = false
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc secure
ms client mode = crc secure
ms mon service mode = crc secure
ms mon cluster mode = crc secure
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
osd crush chooseleaf type = 0
mon data avail warn = 2
mon data avail crit = 1
run dir = $c/run
admin socket = $c/run/\$name.asok
log file = $c/log/\$name.log
pid file = $c/run/\$name.pid
keyring = /dev/null
[mon]
mon data = $c/mon/\$cluster-\$id
[osd]
osd data = $c/osd/\$cluster-\$id
osd objectstore = bluestore
bluestore block path = $c/osd/\$cluster-\$id/block.file
bluestore block create = true
bluestore block size = $((${S3_CEPH_BLOCK_GB:-10} * 1024 * 1024 * 1024))
bluestore block db create = false
bluestore block wal create = false
osd memory target = 1073741824
osd max object name len = 460
osd max object namespace len = 64
[client.rgw.test]
rgw frontends = beast endpoint=127.0.0.1:$port
rgw thread pool size = 128
EOF
C=(-c "$conf")
# Stopped in this order, each only while /proc/PID/cmdline still names this cluster's config.
printf '%s\t%s\n' "$c/run/client.rgw.test.pid" "$conf" "$c/run/osd.0.pid" "$conf" \
  "$c/run/mon.a.pid" "$conf" >"$dir/stop-order"
fail() {
  echo "error: $1; see $c/log" >&2
  "$here/stop-server.sh" "$dir" >&2
  exit 1
}

if ((fresh)); then
  log "new cluster: mkfs mon"
  monmaptool --create --add a "v2:127.0.0.1:$monport" --fsid "$fsid" "$c/monmap" >/dev/null
  ceph-mon "${C[@]}" --mkfs -i a --monmap "$c/monmap" >"$c/log/mkfs-mon.out" 2>&1
fi
ceph-mon "${C[@]}" -i a >"$c/log/start-mon.out" 2>&1
lab_wait_port 127.0.0.1 "$monport" 20 || fail "ceph-mon did not start"
lab_watchdog "$dir" "$(cat "$c/run/mon.a.pid")" "${LAB_TTL:-1800}"
if ((fresh)); then
  log "new cluster: mkfs osd (BlueStore on a sparse file)"
  osd_uuid=$(uuidgen)
  timeout 60 ceph "${C[@]}" osd new "$osd_uuid" >/dev/null || fail "ceph osd new failed"
  timeout 120 ceph-osd "${C[@]}" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$c/log/mkfs-osd.out" 2>&1 ||
    fail "ceph-osd --mkfs failed"
fi
ceph-osd "${C[@]}" -i 0 >"$c/log/start-osd.out" 2>&1
for ((i = 0; i < 60; i++)); do
  timeout 10 ceph "${C[@]}" osd dump 2>/dev/null | grep -q '^osd.0 up' && break
  sleep 1
done
((i < 60)) || fail "osd.0 is not up"
log "osd up; starting radosgw (its first start creates its pools)"
radosgw "${C[@]}" -n client.rgw.test >"$c/log/start-rgw.out" 2>&1
lab_wait_port 127.0.0.1 "$port" 90 || fail "radosgw does not listen"
# The user of the tests, and another one that owns nothing (for access-denied checks).
other_ak=OTHERACCESSKEY000001
other_sk=othersecretkey00000000000000000000000001
add_user() { # UID ACCESS SECRET
  timeout 30 radosgw-admin "${C[@]}" user info --uid="$1" >/dev/null 2>&1 && return 0
  timeout 60 radosgw-admin "${C[@]}" user create --uid="$1" --display-name="$1" \
    --access-key="$2" --secret-key="$3" >"$c/log/user-create-$1.out" 2>&1 ||
    fail "creating user $1 failed"
}
add_user test "$ak" "$sk"
add_user other "$other_ak" "$other_sk"

endpoint="http://127.0.0.1:$port"
if [[ -n "$bucket" ]]; then
  # curl's --aws-sigv4 does not send x-amz-content-sha256, which radosgw requires: pass the hash
  # of the empty body. 200: created; 409: exists already (ours).
  code=$(curl -s -o "$dir/create-bucket.out" -w '%{http_code}' --max-time 30 \
    --aws-sigv4 "aws:amz:$region:s3" --user "$ak:$sk" -X PUT "$endpoint/$bucket" \
    -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855') || true
  [[ $code == 200 || $code == 409 ]] || fail "CreateBucket $bucket: HTTP $code"
fi

cat <<EOF
S3_ENDPOINT=$endpoint
S3_REGION=$region
S3_BUCKET=$bucket
S3_ACCESS_KEY_ID=$ak
S3_SECRET_ACCESS_KEY=$sk
S3_OTHER_ACCESS_KEY_ID=$other_ak
S3_OTHER_SECRET_ACCESS_KEY=$other_sk
S3_PID=$(cat "$c/run/client.rgw.test.pid")
S3_OSD_PID=$(cat "$c/run/osd.0.pid")
S3_MON_PID=$(cat "$c/run/mon.a.pid")
S3_STATE=$dir
S3_STOP="$here/stop-server.sh $dir"
EOF
