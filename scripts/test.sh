#!/usr/bin/env bash
# The test command (README.md): install what the tests need, configure, build,
# run every test with ctest. Build directory: build-test/ (or $EMBER_BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install_deps.sh --test
build="${EMBER_BUILD_DIR:-build-test}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)"
