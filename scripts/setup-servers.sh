#!/usr/bin/env bash
# Installs what the WebDAV and S3 tests and benchmarks need from Debian (once; needs root):
# Apache with mod_dav (WebDAV), Ceph's radosgw on a one-node cluster (S3), rclone (benchmark peer),
# tinyproxy (a forward proxy for the proxy tests). The TLS and web identity tests need nothing more:
# radosgw serves https itself, openssl makes their CA, curl signs their IAM request.
set -euo pipefail
need=()
command -v apache2 >/dev/null 2>&1 || [ -x /usr/sbin/apache2 ] || need+=(apache2)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v rclone >/dev/null 2>&1 || need+=(rclone)
[ -x /usr/bin/tinyproxy ] || need+=(tinyproxy)
command -v radosgw >/dev/null 2>&1 || need+=(radosgw)
ceph=()
command -v ceph-mon >/dev/null 2>&1 || ceph+=(ceph-mon)
command -v ceph-osd >/dev/null 2>&1 || ceph+=(ceph-osd)
if [ ${#need[@]} -eq 0 ] && [ ${#ceph[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${need[*]} ${ceph[*]}; install them as root:" >&2
  echo "  apt-get install ${need[*]} && apt-get install --no-install-recommends ${ceph[*]}" >&2
  exit 1
fi
echo "installing ${need[*]} ${ceph[*]} ..." >&2
apt-get update -qq >&2
export DEBIAN_FRONTEND=noninteractive
if [ ${#need[@]} -gt 0 ]; then apt-get install -y -qq "${need[@]}" >&2; fi
if [ ${#ceph[@]} -gt 0 ]; then apt-get install -y -qq --no-install-recommends "${ceph[@]}" >&2; fi
