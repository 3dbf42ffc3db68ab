#!/usr/bin/env bash
# Starts (or stops) a 3-member etcd ensemble on 127.0.0.1, .2 and .3 for the
# lock comparison (bench/lock_compare/), with etcd's durable defaults (every
# WAL write is fsynced; nothing here turns that off) and data in a fresh
# temporary directory. The counterpart of deploy/bench-ensemble.sh.
#
#   deploy/bench-etcd.sh start     # prints shell assignments, e.g.
#       BENCH_DIR=/tmp/etcd-bench-XXXX
#       ENDPOINTS=127.0.0.1:27379,127.0.0.2:27379,127.0.0.3:27379
#       PIDS=101,102,103               # in the order of ENDPOINTS
#   eval "$(deploy/bench-etcd.sh start)"
#   deploy/bench-etcd.sh stop "$BENCH_DIR"   # SIGTERM (then SIGKILL) + remove
#
# Environment: ETCD (the etcd binary; default: etcd on PATH, Debian's
# etcd-server package), BASE_PORT (client port; the peer port is BASE_PORT+1;
# default 27379), READY_TIMEOUT (seconds to wait for /health on every member;
# default 30), ETCD_ARGS (extra etcd flags for every member; default none).
# Exit status: 0 ok, 1 a member failed to start or become healthy (the ensemble
# is stopped again), 2 usage.
set -euo pipefail

source "$(dirname "$0")/bench-lib.sh"
base_port=${BASE_PORT:-27379}
ready_timeout=${READY_TIMEOUT:-30}
bench_main /tmp/etcd-bench- "$@"

etcd=${ETCD:-$(command -v etcd || true)}
[[ -n $etcd && -x $etcd ]] || { echo "etcd not found (apt-get install etcd-server); set ETCD" >&2; exit 1; }

dir=$(mktemp -d /tmp/etcd-bench-XXXXXX)
peer=$((base_port + 1))
cluster="m1=http://127.0.0.1:$peer,m2=http://127.0.0.2:$peer,m3=http://127.0.0.3:$peer"
endpoints=()
pids=()
for i in 1 2 3; do
  host=127.0.0.$i
  # shellcheck disable=SC2086 # ETCD_ARGS is split into flags on purpose
  "$etcd" --name "m$i" --data-dir "$dir/m$i" \
    --listen-client-urls "http://$host:$base_port" --advertise-client-urls "http://$host:$base_port" \
    --listen-peer-urls "http://$host:$peer" --initial-advertise-peer-urls "http://$host:$peer" \
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "${dir##*/}" \
    ${ETCD_ARGS:-} >"$dir/m$i.log" 2>&1 </dev/null &
  echo $! >"$dir/m$i.pid"
  pids+=("$!")
  endpoints+=("$host:$base_port")
done

etcd_ready() { curl -sf "http://${endpoints[$1]}/health" 2>/dev/null | grep -q '"health":"true"'; }
bench_wait_ready "$dir" "$ready_timeout" etcd_ready
bench_print "$dir"
