#!/usr/bin/env bash
# Starts (or stops) a 3-member Coord ensemble on 127.0.0.1, .2 and .3 for
# benchmarking, with default coordd settings and data in a fresh temporary
# directory.
#
#   deploy/bench-ensemble.sh start     # prints shell assignments, e.g.
#       BENCH_DIR=/tmp/coord-bench-XXXX
#       ENDPOINTS=127.0.0.1:27420,127.0.0.2:27420,127.0.0.3:27420
#       PIDS=101,102,103               # in the order of ENDPOINTS
#   eval "$(deploy/bench-ensemble.sh start)"
#   deploy/bench-ensemble.sh stop "$BENCH_DIR"   # SIGTERM (then SIGKILL) + remove
#
# Environment: COORDD (the coordd binary; default: build/coord/coordd, else build-*/coord/coordd),
# BASE_PORT (client port; the peer port is BASE_PORT+1; default 27420),
# READY_TIMEOUT (seconds to wait for /readyz on every member; default 30),
# COORDD_ARGS (extra coordd flags for every member, e.g. "--tick-ms 20"; default none),
# READY_CACERT (the members serve TLS, e.g. --cert-file in COORDD_ARGS: check
# readiness over https with this CA; default plain http).
# Exit status: 0 ok, 1 a member failed to start or become ready (the ensemble is
# stopped again), 2 usage.
set -euo pipefail

source "$(dirname "$0")/bench-lib.sh"
repo=$(cd "$(dirname "$0")/.." && pwd)
base_port=${BASE_PORT:-27420}
ready_timeout=${READY_TIMEOUT:-30}
bench_main /tmp/coord-bench- "$@"

coordd=${COORDD:-}
if [[ -z $coordd ]]; then
  for c in "$repo"/build/coord/coordd "$repo"/build-*/coord/coordd; do
    [[ -x $c ]] && { coordd=$c; break; }
  done
fi
[[ -n $coordd && -x $coordd ]] || { echo "coordd not found; set COORDD" >&2; exit 1; }

dir=$(mktemp -d /tmp/coord-bench-XXXXXX)
peer=$((base_port + 1))
cluster="m1=127.0.0.1:$peer,m2=127.0.0.2:$peer,m3=127.0.0.3:$peer"
endpoints=()
pids=()
for i in 1 2 3; do
  host=127.0.0.$i
  "$coordd" --name "m$i" --data-dir "$dir/m$i" --listen-client "$host:$base_port" \
    --listen-peer "$host:$((base_port + 1))" --initial-cluster "$cluster" ${COORDD_ARGS:-} \
    >"$dir/m$i.log" 2>&1 </dev/null &
  echo $! >"$dir/m$i.pid"
  pids+=("$!")
  endpoints+=("$host:$base_port")
done

if [[ -n ${READY_CACERT:-} ]]; then
  coord_ready() { curl -sf -o /dev/null --cacert "$READY_CACERT" "https://${endpoints[$1]}/readyz"; }
else
  coord_ready() { curl -sf -o /dev/null "http://${endpoints[$1]}/readyz"; }
fi
bench_wait_ready "$dir" "$ready_timeout" coord_ready
bench_print "$dir"
