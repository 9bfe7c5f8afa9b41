// matmul: C (M,N) = A (M,K) · B (K,N), as attention probabilities · values
// (M up to ~60, K up to ~70, N the head size 16-128).
//
// B rows are contiguous along N, so an MR x (NV vectors) tile of C broadcasts
// one element of each A row and FMAs it with NV vectors of a B row, walking K.
// B is small enough to stay in cache; no blocking beyond the tile.
#pragma once

#include "kernels/simd_common.h"

namespace ember::kernels::EMBER_ISA_NS {

template <class Arch, int MR, int NV>
void matmul_tile(const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                 int64_t K) {
    using Batch = xsimd::batch<float, Arch>;
    constexpr int64_t L = Batch::size;
    Batch acc[MR][NV];
    for (int m = 0; m < MR; ++m)
        for (int v = 0; v < NV; ++v) acc[m][v] = Batch(0.0f);
    for (int64_t k = 0; k < K; ++k) {
        Batch b[NV];
        for (int v = 0; v < NV; ++v) b[v] = Batch::load_unaligned(B + k * ldb + v * L);
        for (int m = 0; m < MR; ++m) {
            const Batch a(A[m * lda + k]);
            for (int v = 0; v < NV; ++v) acc[m][v] = xsimd::fma(a, b[v], acc[m][v]);
        }
    }
    for (int m = 0; m < MR; ++m)
        for (int v = 0; v < NV; ++v) acc[m][v].store_unaligned(C + m * ldc + v * L);
}

// Runs the tile for an edge of mr <= MR rows and nv <= NV column vectors.
template <class Arch, int MR, int NV>
void matmul_edge(int64_t mr, int64_t nv, const float* A, int64_t lda, const float* B, int64_t ldb,
                 float* C, int64_t ldc, int64_t K) {
    if constexpr (MR > 1) {
        if (mr < MR) return matmul_edge<Arch, MR - 1, NV>(mr, nv, A, lda, B, ldb, C, ldc, K);
    }
    if constexpr (NV > 1) {
        if (nv < NV) return matmul_edge<Arch, MR, NV - 1>(mr, nv, A, lda, B, ldb, C, ldc, K);
    }
    matmul_tile<Arch, MR, NV>(A, lda, B, ldb, C, ldc, K);
}

template <class Arch, int MR, int NV>
EMBER_KERNEL void matmul(const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                         int64_t ldc, int64_t M, int64_t N, int64_t K) {
    constexpr int64_t L = xsimd::batch<float, Arch>::size;
    const int64_t n_vec = N / L * L;  // columns covered by whole vectors
    for (int64_t m = 0; m < M; m += MR) {
        const int64_t mr = M - m < MR ? M - m : MR;
        for (int64_t n = 0; n < n_vec; n += NV * L) {
            const int64_t nv = (n_vec - n) / L < NV ? (n_vec - n) / L : NV;
            matmul_edge<Arch, MR, NV>(mr, nv, A + m * lda, lda, B + n, ldb, C + m * ldc + n, ldc,
                                      K);
        }
        // The last N % L columns, too narrow for a vector.
        for (int64_t i = m; i < m + mr; ++i) {
            for (int64_t j = n_vec; j < N; ++j) {
                float sum = 0.0f;
                for (int64_t k = 0; k < K; ++k) sum += A[i * lda + k] * B[k * ldb + j];
                C[i * ldc + j] = sum;
            }
        }
    }
}

}  // namespace ember::kernels::EMBER_ISA_NS
