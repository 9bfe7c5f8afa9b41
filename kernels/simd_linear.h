// linear: C (M,N) = A (M,K) · W (N,K)^T + bias, for small M first.
//
// Both A rows and W rows are contiguous along K, so an MR x NR tile keeps
// MR*NR vector accumulators, streams MR rows of A and NR rows of W through
// them with FMAs, and reduces each accumulator horizontally at the end. The
// hot case (M of 1-24, N and K of 256-4096) is bound by streaming W from
// memory, so the loops are ordered to read W once per pass over a panel of A
// rows that stays in cache.
#pragma once

#include "kernels/simd_common.h"

namespace ember::kernels::EMBER_ISA_NS {

template <class Arch, int MR, int NR>
EMBER_TILE void linear_tile(const float* A, int64_t lda, const float* W, int64_t ldw, const float* bias,
                            float* C, int64_t ldc, int64_t K) {
    using Batch = xsimd::batch<float, Arch>;
    constexpr int64_t L = Batch::size;
    Batch acc[MR][NR];
    for (int m = 0; m < MR; ++m)
        for (int n = 0; n < NR; ++n) acc[m][n] = Batch(0.0f);
    int64_t k = 0;
    for (; k + L <= K; k += L) {
        Batch w[NR];
        for (int n = 0; n < NR; ++n) w[n] = Batch::load_unaligned(W + n * ldw + k);
        for (int m = 0; m < MR; ++m) {
            const Batch a = Batch::load_unaligned(A + m * lda + k);
            for (int n = 0; n < NR; ++n) acc[m][n] = xsimd::fma(a, w[n], acc[m][n]);
        }
    }
    for (int m = 0; m < MR; ++m) {
        for (int n = 0; n < NR; ++n) {
            float sum = xsimd::hadd(acc[m][n]);
            for (int64_t kt = k; kt < K; ++kt) sum += A[m * lda + kt] * W[n * ldw + kt];
            C[m * ldc + n] = bias ? sum + bias[n] : sum;
        }
    }
}

// Runs the tile for an edge of mr <= MR rows and nr <= NR columns, each edge
// shape being its own instantiation so its accumulators stay in registers.
template <class Arch, int MR, int NR>
void linear_edge(int64_t mr, int64_t nr, const float* A, int64_t lda, const float* W, int64_t ldw,
                 const float* bias, float* C, int64_t ldc, int64_t K) {
    if constexpr (MR > 1) {
        if (mr < MR) return linear_edge<Arch, MR - 1, NR>(mr, nr, A, lda, W, ldw, bias, C, ldc, K);
    }
    if constexpr (NR > 1) {
        if (nr < NR) return linear_edge<Arch, MR, NR - 1>(mr, nr, A, lda, W, ldw, bias, C, ldc, K);
    }
    linear_tile<Arch, MR, NR>(A, lda, W, ldw, bias, C, ldc, K);
}

// C for all M rows in MR x NR tiles. Rows of A per pass over W: a panel of
// about 512 KiB, so it stays in L2 while each block of NR rows of W is used
// against all of it.
template <class Arch, int MR, int NR>
void linear_blocked(const float* A, int64_t lda, const float* W, int64_t ldw, const float* bias,
                    float* C, int64_t ldc, int64_t M, int64_t N, int64_t K) {
    constexpr int64_t panel_floats = 128 * 1024;
    const int64_t by_cache = panel_floats / (K > 0 ? K : 1) / MR * MR;
    const int64_t mc = by_cache > MR ? by_cache : MR;
    for (int64_t m0 = 0; m0 < M; m0 += mc) {
        const int64_t m_end = m0 + mc < M ? m0 + mc : M;
        for (int64_t n = 0; n < N; n += NR) {
            const int64_t nr = N - n < NR ? N - n : NR;
            const float* w = W + n * ldw;
            const float* b = bias ? bias + n : nullptr;
            for (int64_t m = m0; m < m_end; m += MR) {
                const int64_t mr = m_end - m < MR ? m_end - m : MR;
                linear_edge<Arch, MR, NR>(mr, nr, A + m * lda, lda, w, ldw, b, C + m * ldc + n,
                                          ldc, K);
            }
        }
    }
}

// W rows per tile when all of M is `rows` < MR: the registers of the MR x NR
// tile go to more rows of W instead, keeping more streams from memory in
// flight, which the memory-bound M = 1..3 cases gain from. Beyond 8 streams
// nothing more is gained.
constexpr int few_rows_nr(int MR, int NR, int rows) {
    const int by_registers = (MR * NR + NR) / (rows + 1);
    return by_registers < 8 ? by_registers : 8;
}

// M < MR rows: one row of tiles, shaped for exactly R = M rows.
template <class Arch, int MR, int NR, int R = MR - 1>
void linear_few_rows(const float* A, int64_t lda, const float* W, int64_t ldw, const float* bias,
                     float* C, int64_t ldc, int64_t M, int64_t N, int64_t K) {
    if constexpr (R > 1) {
        if (M < R)
            return linear_few_rows<Arch, MR, NR, R - 1>(A, lda, W, ldw, bias, C, ldc, M, N, K);
    }
    linear_blocked<Arch, R, few_rows_nr(MR, NR, R)>(A, lda, W, ldw, bias, C, ldc, M, N, K);
}

template <class Arch, int MR, int NR>
EMBER_KERNEL void linear(const float* A, int64_t lda, const float* W, int64_t ldw,
                         const float* bias, float* C, int64_t ldc, int64_t M, int64_t N,
                         int64_t K) {
    static_assert(MR >= 2, "the few-rows path needs tiles of at least two rows");
    if (M < MR)
        linear_few_rows<Arch, MR, NR>(A, lda, W, ldw, bias, C, ldc, M, N, K);
    else
        linear_blocked<Arch, MR, NR>(A, lda, W, ldw, bias, C, ldc, M, N, K);
}

}  // namespace ember::kernels::EMBER_ISA_NS
