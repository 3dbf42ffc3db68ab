#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test (what CI runs).
#   COORD_SIM_SEEDS=N   seeds for the Raft simulation (default: the CI amount)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 1200 -j 2
