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
# COORDD_ARGS (extra coordd flags for every member, e.g. "--tick-ms 20"; default none).
# Exit status: 0 ok, 1 a member failed to start or become ready (the ensemble is
# stopped again), 2 usage.
set -euo pipefail

usage() { echo "usage: $0 start | stop DIR" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
repo=$(cd "$(dirname "$0")/.." && pwd)
base_port=${BASE_PORT:-27420}
ready_timeout=${READY_TIMEOUT:-30}

stop_dir() {
  local dir=$1 pid f
  for f in "$dir"/m*.pid; do
    [[ -f $f ]] || continue
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || true
  done
  for f in "$dir"/m*.pid; do
    [[ -f $f ]] || continue
    pid=$(cat "$f")
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$dir"
}

case $1 in
  stop)
    [[ $# -eq 2 && -d $2 && $2 == /tmp/coord-bench-* ]] || usage
    stop_dir "$2"
    exit 0
    ;;
  start) ;;
  *) usage ;;
esac

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

deadline=$((SECONDS + ready_timeout))
for i in 0 1 2; do
  until curl -sf -o /dev/null "http://${endpoints[$i]}/readyz"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null || ((SECONDS >= deadline)); then
      echo "member m$((i + 1)) did not become ready; log:" >&2
      tail -5 "$dir/m$((i + 1)).log" >&2 || true
      stop_dir "$dir"
      exit 1
    fi
    sleep 0.1
  done
done

echo "BENCH_DIR=$dir"
echo "ENDPOINTS=$(IFS=,; echo "${endpoints[*]}")"
echo "PIDS=$(IFS=,; echo "${pids[*]}")"
