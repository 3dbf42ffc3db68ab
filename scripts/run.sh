#!/usr/bin/env bash
# Installs dependencies, builds, and runs a local 3-member ensemble on
# 127.0.0.1, 127.0.0.2 and 127.0.0.3 (data under ./coord-data). Ctrl-C stops it.
# Until coordd lands (issue 3) the ensemble is the Raft demo: it replicates a
# counter and prints each member's term, leader, commit and applied index.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh raft-demo
exec "${BUILD_DIR:-build}/examples/raft_demo/raft-demo" "$@"
