# shellcheck shell=bash disable=SC2154  # repo and coordd are set by the caller
# Shared by run-compare.sh and run-compare-write.sh: one ensemble at a time from
# deploy/bench-{ensemble,etcd,zookeeper}.sh, stopped on any exit. Source it after
# setting `repo` (the repository root) and `coordd` (the coordd binary).

current=""  # "script dir" of the running ensemble, stopped on any exit
compare_cleanup() { [[ -z $current ]] || "$repo/deploy/${current% *}" stop "${current#* }" || true; }
trap compare_cleanup EXIT

# start SCRIPT: starts an ensemble and sets ENDPOINTS (and BENCH_DIR, PIDS).
start() {
  local env
  env=$(COORDD=$coordd "$repo/deploy/$1" start)
  eval "$env"
  current="$1 $BENCH_DIR"
}
stop() { "$repo/deploy/${current% *}" stop "${current#* }"; current=""; }
# note TEXT: a "# time load: TEXT" line on stderr before each run.
note() { echo "# $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg): $*" >&2; }

# require_executables FILE...: exits 1 naming the first one missing.
require_executables() {
  local b
  for b in "$@"; do
    [[ -x $b ]] || { echo "missing $b" >&2; exit 1; }
  done
}
