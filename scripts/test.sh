#!/usr/bin/env bash
# The test command (README.md; CI runs exactly this):
#
#     bash scripts/test.sh                  # everything, as CI
#     bash scripts/test.sh --no-hardening   # the release suite only (quick local runs)
#
# Installs what the tests need, then runs the stages in order, each timed:
#   release   configure, build (benchmarks included, so that CI builds them and
#             runs each once briefly), every test with ctest, then the parity
#             tests again on the generic kernels. Build directory: build-test/
#             (or $EMBER_BUILD_DIR).
#   asan      scripts/sanitize.sh asan: the suite under ASan + UBSan (build-asan/)
#   tsan      scripts/sanitize.sh tsan: the 16-thread stress test under TSan (build-tsan/)
#   fuzz      fuzz/run.sh all 30: every libFuzzer target for 30 s on its
#             committed corpus (build-fuzz/)
# Any failing test, sanitizer report or fuzz finding fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

hardening=1
for arg in "$@"; do
  case "$arg" in
    --no-hardening) hardening=0 ;;
    *) echo "usage: scripts/test.sh [--no-hardening]" >&2; exit 2 ;;
  esac
done

deps=(--test --bench)
if ((hardening)); then deps+=(--hardening); fi
bash scripts/install_deps.sh "${deps[@]}"

# Each stage's wall time and the CPU time of everything it ran (children
# included), so that a run on a busy machine can be set against CI's limit;
# listed again at the end, whether or not a stage failed.
summary=$(mktemp)
trap 'echo "=== test.sh: stage times"; cat "$summary"; rm -f "$summary"' EXIT
stage() {
  local name="$1" TIMEFORMAT="  $1: %0R s wall, %0U s user + %0S s sys"
  shift
  echo "=== test.sh: $name"
  { time "$@" 2>&3; } 3>&2 2>>"$summary"
  tail -1 "$summary"
}

release() {
  local build="${EMBER_BUILD_DIR:-build-test}"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DEMBER_BUILD_BENCH=ON
  cmake --build "$build" -j"$(nproc)"
  ctest --test-dir "$build" --output-on-failure -j"$(nproc)"
  # The parity tests again on the portable kernels: results must stay exact on
  # every ISA path, not only the one this CPU picks.
  EMBER_ISA=generic ctest --test-dir "$build" --output-on-failure -j"$(nproc)" \
    -R "torchaudio|python\.test_(decoder|transcriber|transcribe)_parity|python\.test_shipped_model|model\.eval_samples|stress|predictor step|batch|together|reference twin"
}

stage release release
if ((hardening)); then
  stage asan bash scripts/sanitize.sh asan
  stage tsan bash scripts/sanitize.sh tsan
  stage fuzz bash fuzz/run.sh all 30
fi
echo "=== test.sh: passed"
