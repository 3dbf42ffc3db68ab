#!/usr/bin/env bash
# Session checkpoint traffic (docs/decisions.md D48, docs/benchmarks.md): the
# peer bytes/s of an idle 3-member ensemble, before and after it holds N live
# sessions that nobody keeps alive. Checkpoints that carried every session would
# grow the second figure with N (D24: a few MB/s at 100,000); D48's carry only
# sessions half a TTL stale, so it stays at the idle figure.
#
#   bench/session_checkpoints.sh [N] [SECONDS]     defaults: 100000 sessions, 20 s
#
# Prints one line per phase: sessions, seconds, peer bytes sent/s (all members)
# and Raft entries committed/s. Environment: COORDD, COORD_BENCH (binaries;
# default build/...), BASE_PORT (as deploy/bench-ensemble.sh).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
sessions=${1:-100000}
window=${2:-20}
bench=${COORD_BENCH:-$repo/build/bench/coord_bench/coord-bench}
[[ -x $bench ]] || { echo "missing $bench (scripts/build.sh coord-bench)" >&2; exit 1; }

# Any one connection may end up owning most of the sessions.
clients=16
export COORDD_ARGS="--max-sessions-per-connection $sessions"  # the fill shares the count unevenly
eval "$("$repo/deploy/bench-ensemble.sh" start)"
trap '"$repo/deploy/bench-ensemble.sh" stop "$BENCH_DIR"' EXIT
IFS=, read -r -a eps <<<"$ENDPOINTS"

# metric NAME: the sum of a counter or gauge over every member.
metric() {
  local total=0 e v
  for e in "${eps[@]}"; do
    v=$(curl -sf "http://$e/metrics" | awk -v n="$1" '$1 == n { print $2 }')
    total=$((total + ${v%.*}))
  done
  echo "$total"
}
# first NAME: a gauge of the first member (every member applies the same entries).
first() { curl -sf "http://${eps[0]}/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }

measure() {
  local label=$1 b0 c0 b1 c1
  b0=$(metric coord_peer_sent_bytes_total); c0=$(first coord_raft_commit_index)
  sleep "$window"  # the measured window itself, not a wait for a condition
  b1=$(metric coord_peer_sent_bytes_total); c1=$(first coord_raft_commit_index)
  printf '%-10s sessions=%-7s secs=%s peer_bytes_per_s=%s entries_per_s=%s\n' "$label" \
    "$(first coord_sessions)" "$window" $(((b1 - b0) / window)) \
    "$(awk -v a="$c0" -v b="$c1" -v w="$window" 'BEGIN { printf "%.1f", (b - a) / w }')"
}

measure idle
"$bench" sessions --count "$sessions" --clients "$clients" --endpoints "$ENDPOINTS" >&2
measure sessions
