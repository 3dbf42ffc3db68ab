#!/usr/bin/env bash
# The side-by-side write benchmark of issue 3 (docs/benchmarks.md, "write"):
# Coord (coord-bench write), etcd (etcd_lock_bench --workload write: one plain
# KV Put per op) and ZooKeeper (zk_lock_bench --workload write: one create of a
# new persistent znode per op), all with the workload shape of `coord-bench
# write`: closed loop, each client waits for its write's reply, a new distinct
# key per op, 256-byte values (VALUE_SIZE), clients round-robin over the
# members. Each run gets a fresh 3-member ensemble on 127.0.0.1-3 (durable
# defaults: coordd defaults, etcd fsync, ZooKeeper forceSync=yes), stopped after
# it; interleaved: for every round, at 1 and then 16 clients, coord, etcd,
# zookeeper. One JSON line per run on stdout; "# ..." notes (the load average
# before each run) on stderr.
#
#   bench/lock_compare/run-compare-write.sh [ROUNDS]        # default 2
#
# Environment: BUILD (default build; binaries under $BUILD/coord, $BUILD/bench),
# ETCD_BENCH (default $BUILD/bench/lock_compare/etcd_lock_bench, from
# build-etcd-bench.sh), WARMUP (1), DURATION (5), CLIENT_COUNTS ("1 16"),
# VALUE_SIZE (256).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
rounds=${1:-2}
build=${BUILD:-$repo/build}
warmup=${WARMUP:-1}
duration=${DURATION:-5}
value_size=${VALUE_SIZE:-256}
coordd=$build/coord/coordd
coord_bench=$build/bench/coord_bench/coord-bench
etcd_bench=${ETCD_BENCH:-$build/bench/lock_compare/etcd_lock_bench}
zk_bench=$build/bench/lock_compare/zk_lock_bench
source "$here/compare-lib.sh"
require_executables "$coordd" "$coord_bench" "$etcd_bench" "$zk_bench"

for round in $(seq 1 "$rounds"); do
  for clients in ${CLIENT_COUNTS:-1 16}; do
    args=(--clients "$clients" --warmup "$warmup" --duration "$duration" --value-size "$value_size")
    start bench-ensemble.sh
    note "round $round coord $clients"
    "$coord_bench" write --endpoints "$ENDPOINTS" "${args[@]}"
    stop
    start bench-etcd.sh
    note "round $round etcd $clients"
    "$etcd_bench" --workload write --endpoints "$ENDPOINTS" "${args[@]}"
    stop
    start bench-zookeeper.sh
    note "round $round zookeeper $clients"
    "$zk_bench" --workload write --endpoints "$ENDPOINTS" "${args[@]}"
    stop
  done
done
