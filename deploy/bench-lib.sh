# shellcheck shell=bash disable=SC2154  # pids and endpoints are set by the caller
# Shared by the bench ensemble scripts (bench-ensemble.sh for Coord,
# bench-etcd.sh, bench-zookeeper.sh): argument handling, stopping an ensemble's
# directory, waiting until every member is ready, and the lines `eval` reads.
# Source it; it defines functions only. The scripts keep their members' pids in
# DIR/m<i>.pid and set the arrays `pids` and `endpoints` (3 entries each).

# bench_main PREFIX ARGS...: `stop DIR` (DIR must start with PREFIX) stops that
# ensemble and exits; `start` returns so the caller starts one; else usage.
bench_main() {
  local prefix=$1
  shift
  local usage="usage: $0 start | stop DIR"
  [[ $# -ge 1 ]] || { echo "$usage" >&2; exit 2; }
  case $1 in
    stop)
      [[ $# -eq 2 && -d $2 && $2 == "$prefix"* ]] || { echo "$usage" >&2; exit 2; }
      bench_stop_dir "$2"
      exit 0
      ;;
    start) ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
}

# bench_stop_dir DIR: SIGTERM every member, SIGKILL those still running after
# 10 s, then remove DIR.
bench_stop_dir() {
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

# bench_wait_ready DIR TIMEOUT_S PROBE: polls `PROBE i` (i = 0..2, success when
# member i is ready) until every member is ready. A member that exits or the
# timeout stops the ensemble and exits 1 with the member's log tail.
bench_wait_ready() {
  local dir=$1 timeout=$2 probe=$3 i
  local deadline=$((SECONDS + timeout))
  for i in 0 1 2; do
    until "$probe" "$i"; do
      if ! kill -0 "${pids[$i]}" 2>/dev/null || ((SECONDS >= deadline)); then
        echo "member m$((i + 1)) did not become ready; log:" >&2
        tail -5 "$dir/m$((i + 1)).log" >&2 || true
        bench_stop_dir "$dir"
        exit 1
      fi
      sleep 0.1
    done
  done
}

# bench_print DIR: the lines the caller `eval`s.
bench_print() {
  echo "BENCH_DIR=$1"
  echo "ENDPOINTS=$(IFS=,; echo "${endpoints[*]}")"
  echo "PIDS=$(IFS=,; echo "${pids[*]}")"
}
