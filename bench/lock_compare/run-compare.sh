#!/usr/bin/env bash
# The side-by-side lock benchmark of issue 4 (docs/benchmarks.md, "lock"):
# Coord (coord-bench lock), etcd (etcd_lock_bench) and ZooKeeper (zk_lock_bench),
# each against a fresh 3-member ensemble on 127.0.0.1-3 started just for its run
# and stopped after it, interleaved: for every round, at 1 and then 8 clients,
# coord, etcd, zookeeper. At 8 clients the same ensemble also runs
# coord_lock_fairness (Coord's per-client spread) and etcd's server-side
# v3lock recipe. One JSON line per run on stdout; "# ..." notes (the load
# average before each run) on stderr.
#
#   bench/lock_compare/run-compare.sh [ROUNDS]        # default 2
#
# Environment: BUILD (default build; binaries under $BUILD/coord, $BUILD/bench),
# ETCD_BENCH (default $BUILD/bench/lock_compare/etcd_lock_bench, from
# build-etcd-bench.sh), WARMUP (1), DURATION (4), CLIENT_COUNTS ("1 8").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
rounds=${1:-2}
build=${BUILD:-$repo/build}
warmup=${WARMUP:-1}
duration=${DURATION:-4}
coordd=$build/coord/coordd
coord_bench=$build/bench/coord_bench/coord-bench
coord_fair=$build/bench/lock_compare/coord_lock_fairness
etcd_bench=${ETCD_BENCH:-$build/bench/lock_compare/etcd_lock_bench}
zk_bench=$build/bench/lock_compare/zk_lock_bench
source "$here/compare-lib.sh"
require_executables "$coordd" "$coord_bench" "$coord_fair" "$etcd_bench" "$zk_bench"

for round in $(seq 1 "$rounds"); do
  for clients in ${CLIENT_COUNTS:-1 8}; do
    args=(--clients "$clients" --warmup "$warmup" --duration "$duration")
    start bench-ensemble.sh
    note "round $round coord $clients"
    "$coord_bench" lock --endpoints "$ENDPOINTS" "${args[@]}"
    if ((clients > 1)); then "$coord_fair" --endpoints "$ENDPOINTS" "${args[@]}"; fi
    stop
    start bench-etcd.sh
    note "round $round etcd $clients"
    "$etcd_bench" --endpoints "$ENDPOINTS" "${args[@]}"
    if ((clients > 1)); then "$etcd_bench" --recipe v3lock --endpoints "$ENDPOINTS" "${args[@]}"; fi
    stop
    start bench-zookeeper.sh
    note "round $round zookeeper $clients"
    "$zk_bench" --endpoints "$ENDPOINTS" "${args[@]}"
    stop
  done
done
