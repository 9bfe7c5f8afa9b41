// The smaller kernels on every ISA the CPU runs, at the model's sizes
// (kernels::linear is in bench_gemm.cpp).
#include "bench/bench_common.h"

namespace ember::bench {

namespace {

// Args: n.
void bench_gelu(benchmark::State& state, kernels::Isa isa) {
    std::vector<float> x = random_floats(size_t(state.range(0)));
    kernels::set_isa(isa);
    for (auto _ : state) {
        kernels::gelu(x.data(), int64_t(x.size()));
        benchmark::DoNotOptimize(x.data());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

// Args: rows, dim.
void bench_layer_norm(benchmark::State& state, kernels::Isa isa) {
    const int64_t rows = state.range(0), dim = state.range(1);
    std::vector<float> x = random_floats(size_t(rows * dim));
    const std::vector<float> gamma = random_floats(size_t(dim), 2), beta = random_floats(size_t(dim), 3);
    kernels::set_isa(isa);
    for (auto _ : state) {
        kernels::layer_norm(x.data(), dim, gamma.data(), beta.data(), 1e-5f, x.data(), dim, rows, dim);
        benchmark::DoNotOptimize(x.data());
    }
    state.SetItemsProcessed(state.iterations() * rows * dim);
}

// Args: rows, cols (the joiner's log_softmax over 4097 symbols per hypothesis).
void bench_log_softmax(benchmark::State& state, kernels::Isa isa) {
    const int64_t rows = state.range(0), cols = state.range(1);
    // log_softmax is idempotent: running it again on its own output is the same work.
    std::vector<float> x = random_floats(size_t(rows * cols));
    kernels::set_isa(isa);
    for (auto _ : state) {
        kernels::log_softmax(x.data(), cols, rows, cols);
        benchmark::DoNotOptimize(x.data());
    }
    state.SetItemsProcessed(state.iterations() * rows * cols);
}

const bool registered = [] {
    for (kernels::Isa isa : supported_isas()) {
        const std::string name = kernels::isa_name(isa);
        benchmark::RegisterBenchmark(("gelu/" + name).c_str(), bench_gelu, isa)->Arg(5 * 2048);
        benchmark::RegisterBenchmark(("layer_norm/" + name).c_str(), bench_layer_norm, isa)
            ->ArgNames({"rows", "dim"})
            ->Args({5, 512});
        benchmark::RegisterBenchmark(("log_softmax/" + name).c_str(), bench_log_softmax, isa)
            ->ArgNames({"rows", "cols"})
            ->Args({10, 4097});
    }
    return true;
}();

}  // namespace

}  // namespace ember::bench
