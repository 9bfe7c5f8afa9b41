// C (M,N) = A (M,K) · W (N,K)^T -- torch.nn.Linear without bias -- by ember's
// kernels::linear_packed (W in panels, as converted models store it) and
// kernels::linear (W in rows) on every ISA the CPU runs, by Eigen and by OpenBLAS (one
// thread), on 1024^3 and on emformer_rnnt_base's streaming shapes; and a plain
// streaming read, the bandwidth the small-M shapes are bound by.
//
// W is rotated through copies totalling more than the last-level cache, so
// every iteration streams its weights from memory as the model does (each
// layer has its own). bytes_per_second counts the bytes of W: for small M
// compare it with read_bandwidth's.
#include <cblas.h>

#include <algorithm>

#include "bench/bench_common.h"
#include "bench/native_reference.h"

namespace ember::bench {

namespace {

constexpr int64_t kRotationBytes = int64_t(256) << 20;

using GemmFn = void (*)(const float* A, const float* W, float* C, int64_t M, int64_t N, int64_t K);

void ember_gemm(const float* A, const float* W, float* C, int64_t M, int64_t N, int64_t K) {
    kernels::linear(A, K, W, K, nullptr, C, N, M, N, K);
}
// W here is the pool's floats taken as already packed: the timing depends on
// the layout's size and order, not on the values.
void ember_packed_gemm(const float* A, const float* W, float* C, int64_t M, int64_t N, int64_t K) {
    kernels::linear_packed(A, K, W, nullptr, C, N, M, N, K);
}
void ref_gemm(const float* A, const float* W, float* C, int64_t M, int64_t N, int64_t K) {
    kernels::ref::linear(A, K, W, K, nullptr, C, N, M, N, K);
}
void openblas_gemm(const float* A, const float* W, float* C, int64_t M, int64_t N, int64_t K) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(M), int(N), int(K), 1.0f, A, int(K), W, int(K), 0.0f,
                C, int(N));
}

// kRotationBytes of weights in [-1, 1), made once and shared by every
// benchmark here (filling 256 MB per benchmark would dominate a short run).
const float* weight_pool() {
    static const std::vector<float> pool = [] {
        std::vector<float> p(size_t(kRotationBytes) / sizeof(float));
        uint32_t x = 12345;
        for (float& v : p) {
            x = x * 1664525u + 1013904223u;
            v = float(int32_t(x >> 8) - (1 << 23)) / float(1 << 23);
        }
        return p;
    }();
    return pool.data();
}

// Args: M, N, K. `packed`: W takes packed_linear_floats(N, K) floats.
void bench_gemm(benchmark::State& state, kernels::Isa isa, GemmFn fn, bool packed) {
    const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
    const int64_t w_size = packed ? kernels::packed_linear_floats(N, K) : N * K;
    const int64_t copies = std::max<int64_t>(1, kRotationBytes / 4 / w_size);
    const float* W = weight_pool();
    const std::vector<float> A = random_floats(size_t(M * K));
    std::vector<float> C(size_t(M * N));
    kernels::set_isa(isa);
    int64_t i = 0;
    for (auto _ : state) {
        fn(A.data(), W + (i++ % copies) * w_size, C.data(), M, N, K);
        benchmark::DoNotOptimize(C.data());
        benchmark::ClobberMemory();
    }
    set_flops(state, 2.0 * double(M) * double(N) * double(K));
    state.SetBytesProcessed(state.iterations() * w_size * int64_t(sizeof(float)));
}

// emformer_rnnt_base per streaming chunk (D = 512, FFN 2048, encoding 1024,
// 4097 symbols, 3 LSTM layers of 512): rows are R + U = 5 per Emformer layer
// (1 right-context frame + 4 utterance frames), 20 for the input linear, 4 for
// the output linear, and the beam's hypotheses for predictor and joiner.
void streaming_shapes(benchmark::internal::Benchmark* b) {
    b->ArgNames({"M", "N", "K"});
    b->Args({5, 512, 512})      // attention query, out_proj
        ->Args({5, 1024, 512})  // attention emb_to_key_value
        ->Args({5, 2048, 512})  // pos_ff linear 1
        ->Args({5, 512, 2048})  // pos_ff linear 2
        ->Args({4, 1024, 512})  // transcriber output linear
        ->Args({20, 2048, 512})
        ->Args({20, 512, 2048})
        ->Args({1, 2048, 512})    // LSTM x2g / p2g, greedy
        ->Args({10, 2048, 512})   // LSTM x2g / p2g, beam 10
        ->Args({1, 4097, 1024})   // joiner, greedy
        ->Args({10, 4097, 1024})   // joiner, beam 10
        ->Args({16, 4097, 1024});  // joiner, beam 4 scoring 4 frames per call (beam_search.cpp)
}
void all_shapes(benchmark::internal::Benchmark* b) {
    streaming_shapes(b);
    // 32 streams batched (ember bench --streams 32): 32 x 5 rows per Emformer layer
    b->Args({160, 512, 512})->Args({160, 2048, 512})->Args({160, 512, 2048});
    b->Args({1024, 1024, 1024});
}

// The same pool the GEMMs stream their weights from, read whole.
void bench_read_bandwidth(benchmark::State& state) {
    const float* pool = weight_pool();
    for (auto _ : state) benchmark::DoNotOptimize(read_all(pool, size_t(kRotationBytes)));
    state.SetBytesProcessed(state.iterations() * kRotationBytes);
}

const bool registered = [] {
    benchmark::RegisterBenchmark("read_bandwidth", bench_read_bandwidth);
    for (kernels::Isa isa : supported_isas()) {
        const std::string name = kernels::isa_name(isa);
        benchmark::RegisterBenchmark(("gemm/ember_packed_" + name).c_str(), bench_gemm, isa, ember_packed_gemm, true)
            ->Apply(all_shapes);
        benchmark::RegisterBenchmark(("gemm/ember_rows_" + name).c_str(), bench_gemm, isa, ember_gemm, false)
            ->Apply(all_shapes);
    }
    benchmark::RegisterBenchmark("gemm/eigen_native", bench_gemm, kernels::Isa::generic, eigen_linear, false)
        ->Apply(all_shapes);
    benchmark::RegisterBenchmark("gemm/openblas_1thread", bench_gemm, kernels::Isa::generic, openblas_gemm, false)
        ->Apply(all_shapes);
    // The scalar reference twin, for scale; 1024^3 takes seconds with it.
    benchmark::RegisterBenchmark("gemm/ref", bench_gemm, kernels::Isa::generic, ref_gemm, false)
        ->Apply(streaming_shapes);
    return true;
}();

}  // namespace

}  // namespace ember::bench
