#!/usr/bin/env bash
# Builds bench/lock_compare/etcd_lock_bench offline against the etcd client
# sources Debian ships (apt-get install golang-go golang-etcd-server-dev), in
# GOPATH mode: no module download.
#
#   bench/lock_compare/build-etcd-bench.sh [OUT]   # default OUT: build/bench/lock_compare/etcd_lock_bench
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-$repo/build/bench/lock_compare/etcd_lock_bench}
[[ -d /usr/share/gocode/src/go.etcd.io/etcd/clientv3 ]] ||
  { echo "etcd client sources missing: apt-get install golang-go golang-etcd-server-dev" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
cd "$here/etcd_lock_bench"
GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS='' GOCACHE=${GOCACHE:-/tmp/coord-lock-compare-gocache} \
  go build -o "$out" .
echo "built $out" >&2
