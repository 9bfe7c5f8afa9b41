// Run-time choice of the ISA every dispatched kernel uses, and the public
// kernel entry points that forward to that ISA's table.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/kernels.h"
#include "kernels/parallel.h"
#include "kernels/table.h"

namespace ember::kernels {

namespace {

const KernelTable& table_of(Isa isa) {
    switch (isa) {
#if defined(EMBER_KERNELS_X86)
        case Isa::avx2: return avx2::table;
        case Isa::avx512: return avx512::table;
#endif
        default: return generic::table;
    }
}

Isa best_supported() {
    for (Isa isa : {Isa::avx512, Isa::avx2})
        if (isa_supported(isa)) return isa;
    return Isa::generic;
}

// EMBER_ISA picks an ISA by name; unset, unknown or unsupported, the best.
Isa isa_from_environment() {
    const char* requested = std::getenv("EMBER_ISA");
    if (requested) {
        for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512})
            if (std::strcmp(requested, isa_name(isa)) == 0 && isa_supported(isa)) return isa;
    }
    return best_supported();
}

std::atomic<Isa>& current_isa() {
    static std::atomic<Isa> isa{isa_from_environment()};
    return isa;
}

// The table every entry point forwards to: one relaxed load and a switch.
const KernelTable& active() { return table_of(current_isa().load(std::memory_order_relaxed)); }

}  // namespace

bool isa_supported(Isa isa) {
    switch (isa) {
        case Isa::generic: return true;
#if defined(EMBER_KERNELS_X86)
        // The CPU features each TU's compile flags let the compiler use
        // (kernels/CMakeLists.txt); libgcc also checks the OS saves the state.
        case Isa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        case Isa::avx512:
            return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                   __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                   __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
        default: return false;
    }
}

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::generic: return "generic";
        case Isa::avx2: return "avx2";
        case Isa::avx512: return "avx512";
    }
    return "unknown";
}

Isa active_isa() { return current_isa().load(std::memory_order_relaxed); }

void set_isa(Isa isa) {
    if (!isa_supported(isa))
        throw std::invalid_argument(std::string("ember::kernels::set_isa: this CPU cannot run ") +
                                    isa_name(isa) + " kernels");
    current_isa().store(isa, std::memory_order_relaxed);
}

namespace {

// One linear call split by output columns: part p computes columns
// [p * block, (p + 1) * block), block a multiple of 16 (a whole number of
// packed panels). Every output element is the same sum as without the split,
// so results do not depend on the thread count.
struct LinearParts {
    const KernelTable* table;
    const float *A, *W, *bias;
    float* C;
    int64_t lda, ldw, ldc, M, N, K, block;
    bool packed;  // W in panels (linear_packed), else rows ldw apart
    LinearEpilogue epilogue;
};

void linear_part(void* context, int part) {
    const LinearParts& j = *static_cast<const LinearParts*>(context);
    const int64_t n0 = part * j.block, n = std::min(j.N - n0, j.block);
    const float* bias = j.bias ? j.bias + n0 : nullptr;
    LinearEpilogue epilogue = j.epilogue;
    if (epilogue.residual) epilogue.residual += n0;
    if (j.packed) {
        j.table->linear_packed(j.A, j.lda, j.W + n0 * j.K, bias, j.C + n0, j.ldc, j.M, n, j.K, epilogue);
    } else {
        // The rows kernel sums by horizontal adds, not per vector of outputs:
        // its epilogue is a second pass over this part of C.
        j.table->linear(j.A, j.lda, j.W + n0 * j.ldw, j.ldw, bias, j.C + n0, j.ldc, j.M, n, j.K);
        if (has_effect(epilogue)) j.table->finish_linear(j.C + n0, j.ldc, j.M, n, epilogue);
    }
}

// Below this many multiply-adds a split costs more than it saves.
constexpr int64_t kParallelMacs = 1 << 18;

void run_linear(const LinearParts& job) {
    const int threads = num_threads();
    const int64_t block = ((job.N + threads - 1) / threads + kPanelWidth - 1) / kPanelWidth * kPanelWidth;
    if (threads <= 1 || job.M * job.N * job.K < kParallelMacs || job.N < 2 * kPanelWidth) {
        LinearParts whole = job;
        whole.block = job.N;
        linear_part(&whole, 0);
        return;
    }
    LinearParts split = job;
    split.block = block;
    run_parts(static_cast<int>((job.N + block - 1) / block), linear_part, &split);
}

}  // namespace

void linear(const float* A, int64_t lda, const float* W, int64_t ldw, const float* bias,
            float* C, int64_t ldc, int64_t M, int64_t N, int64_t K, const LinearEpilogue& epilogue) {
    run_linear({&active(), A, W, bias, C, lda, ldw, ldc, M, N, K, 0, false, epilogue});
}

void linear_packed(const float* A, int64_t lda, const float* packed_W, const float* bias, float* C,
                   int64_t ldc, int64_t M, int64_t N, int64_t K, const LinearEpilogue& epilogue) {
    run_linear({&active(), A, packed_W, bias, C, lda, 0, ldc, M, N, K, 0, true, epilogue});
}

// Per head: the scores of every query row against each block of keys (the
// rows GEMM, no bias), their softmax, the weighted sum of the values -- the
// (nq, keys) scores stay in L1 from one step to the next.
void attention(const float* query, int64_t ldq, int64_t nq, const KeyValueRows* blocks, int64_t num_blocks,
               int64_t num_heads, int64_t head_dim, float* scores, float* out, int64_t ldo) {
    const KernelTable& table = active();
    int64_t nk = 0;
    for (int64_t b = 0; b < num_blocks; ++b) nk += blocks[b].rows;
    for (int64_t h = 0; h < num_heads; ++h) {
        const int64_t col = h * head_dim;
        for (int64_t b = 0, j = 0; b < num_blocks; j += blocks[b].rows, ++b)
            table.linear(query + col, ldq, blocks[b].key + col, blocks[b].ld_key, nullptr, scores + j, nk, nq,
                         blocks[b].rows, head_dim);
        table.softmax(scores, nk, nq, nk);
        table.attention_values(scores, nk, nq, blocks, num_blocks, col, head_dim, out + col, ldo);
    }
}

void layer_norm(const float* x, int64_t ldx, const float* gamma, const float* beta, float eps,
                float* y, int64_t ldy, int64_t rows, int64_t dim) {
    active().layer_norm(x, ldx, gamma, beta, eps, y, ldy, rows, dim);
}

void residual_layer_norm(const float* x, int64_t ldx, float* y, int64_t ldy, const float* gamma,
                         const float* beta, float eps, float* out, int64_t ldout, int64_t rows, int64_t dim) {
    active().residual_layer_norm(x, ldx, y, ldy, gamma, beta, eps, out, ldout, rows, dim);
}

void relu(float* x, int64_t n) { active().relu(x, n); }
void gelu(float* x, int64_t n) { active().gelu(x, n); }
void silu(float* x, int64_t n) { active().silu(x, n); }
void tanh(float* x, int64_t n) { active().tanh(x, n); }
void sigmoid(float* x, int64_t n) { active().sigmoid(x, n); }

void softmax(float* x, int64_t ldx, int64_t rows, int64_t cols) {
    active().softmax(x, ldx, rows, cols);
}

void log_softmax(float* x, int64_t ldx, int64_t rows, int64_t cols) {
    active().log_softmax(x, ldx, rows, cols);
}

void add(const float* x, float* y, int64_t n) {
    active().add(x, y, n);
}

}  // namespace ember::kernels
