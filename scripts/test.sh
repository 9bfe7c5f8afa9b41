#!/usr/bin/env bash
# The test command (README.md): install what the tests need, configure, build
# (benchmarks included, so that CI builds them and runs each once briefly),
# run every test with ctest. Build directory: build-test/ (or $EMBER_BUILD_DIR).
# The hardening jobs (scripts/sanitize.sh asan|tsan, fuzz/run.sh) run apart.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install_deps.sh --test --bench
build="${EMBER_BUILD_DIR:-build-test}"
start=$SECONDS
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DEMBER_BUILD_BENCH=ON
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)"
# The parity tests again on the portable kernels: results must stay exact on
# every ISA path, not only the one this CPU picks.
EMBER_ISA=generic ctest --test-dir "$build" --output-on-failure -j"$(nproc)" \
  -R "torchaudio|python\.test_(decoder|transcriber|transcribe)_parity|stress|predictor step"
echo "test.sh: done in $((SECONDS - start)) s"
