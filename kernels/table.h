// The kernel entry points of one ISA, as a table of function pointers.
// Internal to kernels/: each isa_*.cpp defines one table from the shared
// templates (simd_table.h), dispatch.cpp picks the one the CPU can run.
#pragma once

#include "kernels/kernels.h"

namespace ember::kernels {

struct KernelTable {
    void (*linear)(const float* A, int64_t lda, const float* W, int64_t ldw, const float* bias,
                   float* C, int64_t ldc, int64_t M, int64_t N, int64_t K);
    // The epilogue of a linear whose C holds A W^T + bias (the rows kernel's).
    void (*finish_linear)(float* C, int64_t ldc, int64_t M, int64_t N, const LinearEpilogue& epilogue);
    void (*linear_packed)(const float* A, int64_t lda, const float* packed_W, const float* bias,
                          float* C, int64_t ldc, int64_t M, int64_t N, int64_t K,
                          const LinearEpilogue& epilogue);
    // out (nq, head_dim) = P (nq, keys) times the values of one head, columns
    // [col, col + head_dim) of the blocks' value rows.
    void (*attention_values)(const float* P, int64_t ldp, int64_t nq, const KeyValueRows* blocks,
                             int64_t num_blocks, int64_t col, int64_t head_dim, float* out, int64_t ldo);
    void (*layer_norm)(const float* x, int64_t ldx, const float* gamma, const float* beta,
                       float eps, float* y, int64_t ldy, int64_t rows, int64_t dim);
    void (*residual_layer_norm)(const float* x, int64_t ldx, float* y, int64_t ldy, const float* gamma,
                                const float* beta, float eps, float* out, int64_t ldout, int64_t rows,
                                int64_t dim);
    void (*relu)(float* x, int64_t n);
    void (*gelu)(float* x, int64_t n);
    void (*silu)(float* x, int64_t n);
    void (*tanh)(float* x, int64_t n);
    void (*sigmoid)(float* x, int64_t n);
    void (*softmax)(float* x, int64_t ldx, int64_t rows, int64_t cols);
    void (*log_softmax)(float* x, int64_t ldx, int64_t rows, int64_t cols);
    void (*add)(const float* x, float* y, int64_t n);
};

// One table per ISA, each defined in its own isa_*.cpp. The x86 ones exist
// only when kernels/CMakeLists.txt builds them (EMBER_KERNELS_X86).
namespace generic { extern const KernelTable table; }
#if defined(EMBER_KERNELS_X86)
namespace avx2 { extern const KernelTable table; }
namespace avx512 { extern const KernelTable table; }
#endif

}  // namespace ember::kernels
