// attention_values: the weighted sum of an attention's values, out (nq, hd) =
// P (nq, nk) V (nk, hd), with the value rows read where they lie, in blocks
// (kernels.h, KeyValueRows) -- the memory, the chunk's frames, the left
// context kept in the stream state -- instead of gathered into one matrix.
//
// An MR x (NV vectors) tile of out broadcasts one probability of each row
// and FMAs it with NV vectors of a value row, walking the keys of every block
// in order: each output is one chain over the keys, as torch's bmm sums them.
// The values are small enough to stay in cache; no blocking beyond the tile.
#pragma once

#include "kernels/kernels.h"
#include "kernels/simd_common.h"

namespace ember::kernels::EMBER_ISA_NS {

template <class Arch, int MR, int NV>
EMBER_TILE void values_tile(const float* P, int64_t ldp, const KeyValueRows* blocks, int64_t num_blocks,
                            int64_t col, float* out, int64_t ldo) {
    using Batch = xsimd::batch<float, Arch>;
    constexpr int64_t L = Batch::size;
    Batch acc[MR][NV];
    for (int m = 0; m < MR; ++m)
        for (int v = 0; v < NV; ++v) acc[m][v] = Batch(0.0f);
    for (int64_t b = 0, j = 0; b < num_blocks; ++b) {
        const float* value = blocks[b].value + col;
        for (int64_t r = 0; r < blocks[b].rows; ++r, ++j) {
            Batch x[NV];
            for (int v = 0; v < NV; ++v) x[v] = Batch::load_unaligned(value + r * blocks[b].ld_value + v * L);
            for (int m = 0; m < MR; ++m) {
                const Batch p(P[m * ldp + j]);
                for (int v = 0; v < NV; ++v) acc[m][v] = xsimd::fma(p, x[v], acc[m][v]);
            }
        }
    }
    for (int m = 0; m < MR; ++m)
        for (int v = 0; v < NV; ++v) acc[m][v].store_unaligned(out + m * ldo + v * L);
}

// The tile for an edge of mr <= MR rows and nv <= NV vectors.
template <class Arch, int MR, int NV>
void values_edge(int64_t mr, int64_t nv, const float* P, int64_t ldp, const KeyValueRows* blocks,
                 int64_t num_blocks, int64_t col, float* out, int64_t ldo) {
    if constexpr (MR > 1) {
        if (mr < MR) return values_edge<Arch, MR - 1, NV>(mr, nv, P, ldp, blocks, num_blocks, col, out, ldo);
    }
    if constexpr (NV > 1) {
        if (nv < NV) return values_edge<Arch, MR, NV - 1>(mr, nv, P, ldp, blocks, num_blocks, col, out, ldo);
    }
    values_tile<Arch, MR, NV>(P, ldp, blocks, num_blocks, col, out, ldo);
}

template <class Arch, int MR, int NV>
EMBER_KERNEL void attention_values(const float* P, int64_t ldp, int64_t nq, const KeyValueRows* blocks,
                                   int64_t num_blocks, int64_t col, int64_t head_dim, float* out, int64_t ldo) {
    using Batch = xsimd::batch<float, Arch>;
    constexpr int64_t L = Batch::size;
    const int64_t whole = head_dim / L * L;  // columns covered by whole vectors
    for (int64_t m = 0; m < nq; m += MR) {
        const int64_t mr = nq - m < MR ? nq - m : MR;
        for (int64_t c = 0; c < whole; c += NV * L) {
            const int64_t nv = (whole - c) / L < NV ? (whole - c) / L : NV;
            values_edge<Arch, MR, NV>(mr, nv, P + m * ldp, ldp, blocks, num_blocks, col + c, out + m * ldo + c, ldo);
        }
        // The last head_dim % L columns, through padded vectors: the same
        // FMA chain as the others (a scalar loop's rounding would depend on
        // how the compiler contracts and versions it).
        if (whole == head_dim) continue;
        const int64_t tail = head_dim - whole;
        for (int64_t i = m; i < m + mr; ++i) {
            Batch acc(0.0f);
            for (int64_t b = 0, j = 0; b < num_blocks; ++b)
                for (int64_t r = 0; r < blocks[b].rows; ++r, ++j)
                    acc = xsimd::fma(Batch(P[i * ldp + j]),
                                     load_partial<Arch>(blocks[b].value + r * blocks[b].ld_value + col + whole, tail,
                                                        0.0f),
                                     acc);
            store_partial<Arch>(acc, out + i * ldo + whole, tail);
        }
    }
}

}  // namespace ember::kernels::EMBER_ISA_NS
