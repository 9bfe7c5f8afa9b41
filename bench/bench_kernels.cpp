// Throughput of the dispatched kernels against their reference twins, per ISA
// the machine runs, on the shapes the model uses. W is rotated through copies
// totalling more than a last-level cache, so `linear` streams it from memory
// as it does in the model, where every layer has its own weights.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"

namespace kernels = ember::kernels;

namespace {

using LinearFn = void (*)(const float*, int64_t, const float*, int64_t, const float*, float*,
                          int64_t, int64_t, int64_t, int64_t);

std::vector<float> random_floats(size_t n) {
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

// Args: M, N, K.
void bench_linear(benchmark::State& state, kernels::Isa isa, LinearFn fn) {
    const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
    const int64_t w_size = N * K;
    const int64_t copies = std::max<int64_t>(2, (128 << 20) / 4 / w_size);
    const std::vector<float> A = random_floats(size_t(M * K));
    const std::vector<float> W = random_floats(size_t(w_size * copies));
    const std::vector<float> bias = random_floats(size_t(N));
    std::vector<float> C(size_t(M * N));
    kernels::set_isa(isa);
    int64_t i = 0;
    for (auto _ : state) {
        fn(A.data(), K, W.data() + (i++ % copies) * w_size, K, bias.data(), C.data(), N, M, N, K);
        benchmark::DoNotOptimize(C.data());
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(M * N * K),
                                                   benchmark::Counter::kIsIterationInvariantRate,
                                                   benchmark::Counter::kIs1000);
    state.SetBytesProcessed(state.iterations() * w_size * int64_t(sizeof(float)));
}

// Args: M, N, K (attention probabilities (M,K) · values (K,N)).
void bench_matmul(benchmark::State& state, kernels::Isa isa) {
    const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
    const std::vector<float> A = random_floats(size_t(M * K)), B = random_floats(size_t(K * N));
    std::vector<float> C(size_t(M * N));
    kernels::set_isa(isa);
    for (auto _ : state) {
        kernels::matmul(A.data(), K, B.data(), N, C.data(), N, M, N, K);
        benchmark::DoNotOptimize(C.data());
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(M * N * K),
                                                   benchmark::Counter::kIsIterationInvariantRate,
                                                   benchmark::Counter::kIs1000);
}

void bench_gelu(benchmark::State& state, kernels::Isa isa) {
    std::vector<float> x = random_floats(size_t(state.range(0)));
    kernels::set_isa(isa);
    for (auto _ : state) {
        kernels::gelu(x.data(), int64_t(x.size()));
        benchmark::DoNotOptimize(x.data());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

void linear_shapes(benchmark::internal::Benchmark* b) {
    b->Args({1, 4096, 1024})->Args({16, 2048, 512})->Args({4, 512, 512})->Args({24, 2048, 512})
        ->Args({24, 512, 2048})->Args({256, 1024, 1024});
}

// Registered at start-up, once per ISA the CPU runs.
const bool registered = [] {
    benchmark::RegisterBenchmark("linear/ref", bench_linear, kernels::Isa::generic,
                                 kernels::ref::linear)
        ->Apply(linear_shapes);
    for (kernels::Isa isa : {kernels::Isa::generic, kernels::Isa::avx2, kernels::Isa::avx512}) {
        if (!kernels::isa_supported(isa)) continue;
        const std::string name = kernels::isa_name(isa);
        benchmark::RegisterBenchmark(("linear/" + name).c_str(), bench_linear, isa,
                                     LinearFn(kernels::linear))
            ->Apply(linear_shapes);
        benchmark::RegisterBenchmark(("matmul/" + name).c_str(), bench_matmul, isa)
            ->Args({60, 64, 70})
            ->Args({60, 16, 70})
            ->Args({60, 128, 70});
        benchmark::RegisterBenchmark(("gelu/" + name).c_str(), bench_gelu, isa)->Arg(24 * 2048);
    }
    return true;
}();

}  // namespace

BENCHMARK_MAIN();
