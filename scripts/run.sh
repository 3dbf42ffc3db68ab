#!/usr/bin/env bash
# Installs dependencies, builds coordd, and runs a local 3-member ensemble on
# 127.0.0.1, 127.0.0.2 and 127.0.0.3 (clients on :7420, data under ./coord-data).
# Ctrl-C stops it; running it again continues from the same data.
#   scripts/run.sh --single   one member on 127.0.0.1:7420 instead (data ./coord-data)
#   scripts/run.sh --raft-demo   the Raft library demo (a replicated counter)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
case "${1:-}" in
  --single)
    ./scripts/build.sh coordd
    exec "${BUILD_DIR:-build}/coord/coordd" ;;
  --raft-demo)
    ./scripts/build.sh raft-demo
    exec "${BUILD_DIR:-build}/examples/raft_demo/raft-demo" ;;
  "")
    ./scripts/build.sh coordd
    COORDD="${BUILD_DIR:-build}/coord/coordd" exec deploy/local-ensemble.sh ;;
  *)
    echo "usage: scripts/run.sh [--single | --raft-demo]" >&2; exit 2 ;;
esac
