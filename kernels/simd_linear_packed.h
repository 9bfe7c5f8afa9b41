// linear_packed: C (M,N) = A (M,K) · W^T + bias, W packed in panels of 16
// output columns (kernels.h), in the BLIS manner.
//
// A tile of R rows of A by NP panels broadcasts A[m][k] and multiplies it
// into the panel's row k (16 contiguous floats: one AVX-512 vector, two AVX2,
// four SSE), keeping R x NP x 16 outputs in registers. Each output is one
// chain of fused multiply-adds over k in order, so the blocking below never
// changes a bit of the result: a K block stores its partial sums to C and the
// next one loads them back, exactly.
//
// Blocking (the machine: 32 KiB L1d, 512 KiB L2 per core): KC rows of a panel
// (KC x 16 floats = 16 KiB) stay in L1 while every MR-row tile of an MC-row
// block of A, packed (48 KiB), passes over them; the block stays in L1/L2
// while all panels of W go by. W is read M / MC times, from L2/L3 after the
// first: at 16 KiB per 2 x MC x KC x 16 flops that costs little bandwidth.
// With few rows (M <= 4 MR: the memory-bound streaming shapes, M of 1-20) K is
// not split: each panel streams from memory in one sequential pass.
#pragma once

#include "kernels/simd_common.h"
#include "kernels/simd_pointwise.h"

namespace ember::kernels::EMBER_ISA_NS {

constexpr int64_t kPackedPanel = 16;  // kernels::kPanelWidth
constexpr int64_t kPackedKc = 256;
// 48 rows: a multiple of every ISA's MR (3, 6, 12), and a packed block of A
// (48 x 256 floats, 48 KiB) small enough for the stack of any thread that
// calls in, so the kernel needs no heap and no per-thread state.
constexpr int64_t kPackedMc = 48;

// Elements [0, kc) of R rows of A times NP panels, into the first `valid`
// columns of C. A's element (m, k) is at A[m * a_row + k * a_k]: rows of the
// caller's matrix (a_row = lda, a_k = 1) or a packed micro-panel (a_row = 1,
// a_k = MR). W points at row k0 of the first panel; panels are panel_stride
// floats apart. `first`: start from zero, else from C's partial sums;
// `bias` (null but on the last K block, or when there is none) is added;
// `finish` (null but on the last K block, when it has an effect) is the
// epilogue, its residual at the tile's first output.
// `stream_ahead`: W comes from memory, so fetch the next panel early.
template <class Arch, int R, int NP>
EMBER_TILE void packed_tile(const float* A, int64_t a_row, int64_t a_k, const float* W, int64_t panel_stride,
                            int64_t kc, bool first, const float* bias, const LinearEpilogue* finish, float* C,
                            int64_t ldc, int64_t valid, bool stream_ahead) {
    using Batch = xsimd::batch<float, Arch>;
    constexpr int64_t L = Batch::size;
    constexpr int V = int(kPackedPanel / L) * NP;  // vectors across the tile
    Batch acc[R][V];
    for (int m = 0; m < R; ++m)
        for (int v = 0; v < V; ++v)
            acc[m][v] = first ? Batch(0.0f) : load_columns<Arch>(C + m * ldc, v * L, valid);
    // W's V vectors are loaded first, then each row's broadcast is used at
    // once: R x V accumulators + V + 1 registers (15 of AVX2's 16 for 6 x 2),
    // where broadcasting all R first would spill accumulators to the stack.
    for (int64_t k = 0; k < kc; ++k) {
        const float* row = W + k * kPackedPanel;
        // A tile streaming its panels from memory is one or two streams, too
        // few to keep DRAM busy: touching the same row of the next tile's
        // panels runs as many again a tile ahead. Measured on AVX2 (Zen 3,
        // 1 panel): M = 10 and 20 read W 12-25% faster; with K split (W from
        // cache) it costs 6%. On AVX-512 (Xeon, 2 panels): M = 5, 10 and 20
        // 15-40% faster, the streaming encoder 20-30%. The one-row tile's 4
        // panels are streams enough.
        if constexpr (NP <= 2)
            if (stream_ahead)
                for (int p = 0; p < NP; ++p) __builtin_prefetch(row + (NP + p) * panel_stride);
        Batch w[V];
        for (int v = 0; v < V; ++v)
            w[v] = Batch::load_unaligned(row + (v * L / kPackedPanel) * panel_stride + (v * L) % kPackedPanel);
        for (int m = 0; m < R; ++m) {
            const Batch a(A[m * a_row + k * a_k]);
            for (int v = 0; v < V; ++v) acc[m][v] = xsimd::fma(a, w[v], acc[m][v]);
        }
    }
    for (int v = 0; v < V; ++v) {
        const Batch b = bias ? load_columns<Arch>(bias, v * L, valid) : Batch(0.0f);
        for (int m = 0; m < R; ++m)
            store_columns<Arch>(bias ? acc[m][v] + b : acc[m][v], C + m * ldc, v * L, valid);
    }
    // The epilogue reads the tile back from L1 in finish_linear, one
    // out-of-line copy: inlined here, its GELU/SiLU/tanh math was flattened
    // into every tile shape and vector, and the sanitizer builds of the
    // kernel TUs took tens of minutes. The same operations on the same
    // values: the bits do not change.
    if (finish) finish_linear<Arch>(C, ldc, R, valid, *finish);
}

// The tile for an edge of r <= R rows and np <= NP panels, each edge shape its
// own instantiation so that its accumulators stay in registers.
template <class Arch, int R, int NP>
void packed_edge(int64_t r, int64_t np, const float* A, int64_t a_row, int64_t a_k, const float* W,
                 int64_t panel_stride, int64_t kc, bool first, const float* bias, const LinearEpilogue* finish,
                 float* C, int64_t ldc, int64_t valid, bool stream_ahead) {
    if constexpr (R > 1) {
        if (r < R)
            return packed_edge<Arch, R - 1, NP>(r, np, A, a_row, a_k, W, panel_stride, kc, first, bias, finish, C,
                                                ldc, valid, stream_ahead);
    }
    if constexpr (NP > 1) {
        if (np < NP)
            return packed_edge<Arch, R, NP - 1>(r, np, A, a_row, a_k, W, panel_stride, kc, first, bias, finish, C,
                                                ldc, valid, stream_ahead);
    }
    packed_tile<Arch, R, NP>(A, a_row, a_k, W, panel_stride, kc, first, bias, finish, C, ldc, valid, stream_ahead);
}

// The MC x KC block of A that every panel of W passes over, in micro-panels
// of MR rows (element (m, k) of the block at [(m / MR) * MR * kc + k * MR +
// m % MR]): the tile reads its R x 1 broadcasts from one cache line instead
// of R rows lda apart (which alias in L1 when lda is a multiple of 1 KiB, as
// the model's widths are). Packing copies values; it changes no sum.
// Written in order, read from r rows side by side: writing each row's kc
// values MR floats apart instead touched a new cache line every other store,
// and took 7% of a 1024^3 product on AVX-512.
template <int MR>
void pack_a_block(const float* A, int64_t lda, int64_t rows, int64_t kc, float* packed) {
    for (int64_t m0 = 0; m0 < rows; m0 += MR) {
        const int64_t r = rows - m0 < MR ? rows - m0 : MR;
        const float* src = A + m0 * lda;
        float* tile = packed + m0 * kc;
        for (int64_t k = 0; k < kc; ++k)
            for (int64_t m = 0; m < r; ++m) tile[k * MR + m] = src[m * lda + k];
    }
}


template <class Arch, int MR, int NP>
void packed_blocked(const float* A, int64_t lda, const float* W, const float* bias, float* C,
                    int64_t ldc, int64_t M, int64_t N, int64_t K, const LinearEpilogue& epilogue) {
    const int64_t panels = (N + kPackedPanel - 1) / kPackedPanel;
    const int64_t panel_stride = K * kPackedPanel;
    // Up to 4 tiles of rows (the streaming shapes: 5-20 rows, a beam's 10) K is
    // not split and A is read in place: each panel (16 x K floats, <= 128 KiB
    // for the model's K) comes from memory for the first tile and from L2 for
    // the others, with no partial sums through C. Measured on AVX2 at M = 10
    // and 20: 1.2-1.3x faster than splitting K.
    const bool few_tiles = M <= 4 * MR;
    const int64_t k_block = few_tiles ? K : kPackedKc;
    const bool finishes = has_effect(epilogue);
    alignas(64) float packed_a[kPackedMc * kPackedKc];
    for (int64_t k0 = 0; k0 < K; k0 += k_block) {
        const int64_t kc = K - k0 < k_block ? K - k0 : k_block;
        for (int64_t m0 = 0; m0 < M; m0 += kPackedMc) {
            const int64_t rows = M - m0 < kPackedMc ? M - m0 : kPackedMc;
            if (!few_tiles) pack_a_block<MR>(A + m0 * lda + k0, lda, rows, kc, packed_a);
            for (int64_t p = 0; p < panels; p += NP) {
                const int64_t np = panels - p < NP ? panels - p : NP;
                const int64_t n = p * kPackedPanel;
                const int64_t valid = N - n < np * kPackedPanel ? N - n : np * kPackedPanel;
                const bool last = k0 + kc == K;
                const float* b = bias && last ? bias + n : nullptr;
                const float* w = W + n * K + k0 * kPackedPanel;
                for (int64_t m = 0; m < rows; m += MR) {
                    const int64_t r = rows - m < MR ? rows - m : MR;
                    float* c = C + (m0 + m) * ldc + n;
                    LinearEpilogue tile_epilogue = epilogue;
                    if (epilogue.residual) tile_epilogue.residual += (m0 + m) * epilogue.ld_residual + n;
                    const LinearEpilogue* finish = last && finishes ? &tile_epilogue : nullptr;
                    if (few_tiles)
                        packed_edge<Arch, MR, NP>(r, np, A + (m0 + m) * lda + k0, lda, 1, w, panel_stride, kc,
                                                  k0 == 0, b, finish, c, ldc, valid, m == 0);
                    else
                        packed_edge<Arch, MR, NP>(r, np, packed_a + m * kc, 1, MR, w, panel_stride, kc, k0 == 0, b,
                                                  finish, c, ldc, valid, false);
                }
            }
        }
    }
}

template <class Arch, int MR, int NP>
EMBER_KERNEL void linear_packed(const float* A, int64_t lda, const float* W, const float* bias,
                                float* C, int64_t ldc, int64_t M, int64_t N, int64_t K,
                                const LinearEpilogue& epilogue) {
    static_assert(kPackedPanel % xsimd::batch<float, Arch>::size == 0,
                  "a panel must be whole vectors");
    if (K == 0) {  // no products: the bias alone, as torch.nn.Linear
        for (int64_t m = 0; m < M; ++m)
            for (int64_t n = 0; n < N; ++n) C[m * ldc + n] = bias ? bias[n] : 0.0f;
        return finish_linear<Arch>(C, ldc, M, N, epilogue);
    }
    // One row (greedy search: the joiner, the predictor) gets tiles of 4
    // panels: more independent FMA chains and more streams from memory in
    // flight (2x the bandwidth of one panel at a time on AVX2). Other row
    // counts below MR use the edges of the MR x NP tile; a tile per row count
    // and panel count, flattened into this one function, made the AVX-512
    // build take 20 minutes under the sanitizers.
    if (M == 1)
        packed_blocked<Arch, 1, 4>(A, lda, W, bias, C, ldc, M, N, K, epilogue);
    else
        packed_blocked<Arch, MR, NP>(A, lda, W, bias, C, ldc, M, N, K, epilogue);
}

}  // namespace ember::kernels::EMBER_ISA_NS
