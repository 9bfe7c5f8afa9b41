// Helpers shared by the benchmark files of ember_bench.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"

namespace ember::bench {

// n floats uniform in [-1, 1), the same for every call with the same seed.
inline std::vector<float> random_floats(size_t n, unsigned seed = 1) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

// The ISAs this CPU runs, best last.
inline std::vector<kernels::Isa> supported_isas() {
    std::vector<kernels::Isa> isas;
    for (kernels::Isa isa : {kernels::Isa::generic, kernels::Isa::avx2, kernels::Isa::avx512})
        if (kernels::isa_supported(isa)) isas.push_back(isa);
    return isas;
}

// Reports 2 * flops as GFLOP/s.
inline void set_flops(benchmark::State& state, double flops) {
    state.counters["GFLOP/s"] =
        benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

}  // namespace ember::bench
