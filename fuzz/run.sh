#!/usr/bin/env bash
# Runs a libFuzzer target (ASan + UBSan) on its committed corpus.
#
#     bash fuzz/run.sh TARGET SECONDS [libFuzzer flags...]
#     bash fuzz/run.sh all SECONDS      # every target, two at a time (CI)
#
# TARGET: ember, pt, sentencepiece, wav, json, npy. Configures and builds
# build-fuzz/ (or $EMBER_FUZZ_BUILD_DIR) with clang. New inputs go to
# BUILD/corpus/TARGET, never into the committed fuzz/corpus/TARGET; a finding
# is written to BUILD/artifacts/TARGET/ and the script exits non-zero. The
# last lines of the log (BUILD/logs/TARGET.log) hold libFuzzer's final stats.
# Minimizing a committed corpus after adding inputs:
#     build-fuzz/fuzz/fuzz_wav -merge=1 NEW_DIR fuzz/corpus/wav   # then replace
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(ember pt sentencepiece wav json npy)
if [[ $# -lt 2 ]]; then
    echo "usage: fuzz/run.sh TARGET|all SECONDS [libFuzzer flags...]  (targets: ${targets[*]})" >&2
    exit 2
fi
target="$1"
seconds="$2"
shift 2
build="${EMBER_FUZZ_BUILD_DIR:-build-fuzz}"

build_targets=()
if [[ "$target" == all ]]; then
    for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
elif [[ " ${targets[*]} " == *" $target "* ]]; then
    build_targets=("fuzz_$target")
else
    echo "fuzz/run.sh: unknown target '$target' (targets: ${targets[*]})" >&2
    exit 2
fi

if [[ ! -f "$build/CMakeCache.txt" ]]; then
    cmake -S . -B "$build" -DEMBER_BUILD_FUZZ=ON -DEMBER_BUILD_TESTS=OFF \
          -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target "${build_targets[@]}" >/dev/null

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

run_one() {
    local t="$1"
    shift
    mkdir -p "$build/corpus/$t" "$build/artifacts/$t" "$build/logs"
    local log="$build/logs/$t.log"
    # -rss_limit_mb / -malloc_limit_mb: an allocation sized by the input beyond
    # 1 GB is a finding; -timeout: one input taking > 10 s is a finding (a hang).
    if "$build/fuzz/fuzz_$t" "$build/corpus/$t" "fuzz/corpus/$t" \
            -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
            -print_final_stats=1 -artifact_prefix="$build/artifacts/$t/" "$@" >"$log" 2>&1; then
        local runs cov
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
        cov=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)
        echo "fuzz $t: ${seconds} s, ${runs:-?} executions, ${cov:-cov ?}, no finding"
    else
        echo "fuzz $t: FINDING (log $log, input in $build/artifacts/$t/)" >&2
        grep -E 'ERROR|SUMMARY|terminate|runtime error|deadly signal' "$log" | head -5 >&2
        return 1
    fi
}

if [[ "$target" != all ]]; then
    run_one "$target" "$@"
    exit
fi

# Two at a time: CI has two cores.
failed=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
    pids=()
    for t in "${targets[@]:i:2}"; do
        run_one "$t" "$@" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
done
exit "$failed"
