// attention: per head and query row, the scores against every key, their
// softmax and the weighted sum of the values, in one pass (kernels.h). The
// keys and values are read where they lie -- the memory, the chunk's frames,
// the left context kept in the stream's state -- instead of being gathered
// into one matrix first, and the scores of a row never leave L1.
#pragma once

#include "kernels/kernels.h"
#include "kernels/simd_common.h"
#include "kernels/simd_rows.h"

namespace ember::kernels::EMBER_ISA_NS {

// sum over i < n of a[i] * b[i]: one vector chain, its lanes added at the end.
template <class Arch>
float dot(const float* a, const float* b, int64_t n) {
    using Batch = xsimd::batch<float, Arch>;
    constexpr int64_t L = Batch::size;
    Batch acc(0.0f);
    int64_t i = 0;
    for (; i + L <= n; i += L) acc = xsimd::fma(Batch::load_unaligned(a + i), Batch::load_unaligned(b + i), acc);
    if (i < n) acc = xsimd::fma(load_partial<Arch>(a + i, n - i, 0.0f), load_partial<Arch>(b + i, n - i, 0.0f), acc);
    return xsimd::hadd(acc);
}

template <class Arch>
EMBER_KERNEL void attention(const float* query, int64_t ldq, int64_t nq, const KeyValueRows* blocks,
                            int64_t num_blocks, int64_t num_heads, int64_t head_dim, float* scores, float* out,
                            int64_t ldo) {
    using Batch = xsimd::batch<float, Arch>;
    constexpr int64_t L = Batch::size;
    int64_t nk = 0;
    for (int64_t b = 0; b < num_blocks; ++b) nk += blocks[b].rows;
    for (int64_t h = 0; h < num_heads; ++h) {
        const int64_t col = h * head_dim;
        for (int64_t i = 0; i < nq; ++i) {
            const float* q = query + i * ldq + col;
            for (int64_t b = 0, j = 0; b < num_blocks; ++b)
                for (int64_t r = 0; r < blocks[b].rows; ++r, ++j)
                    scores[j] = dot<Arch>(q, blocks[b].key + r * blocks[b].ld_key + col, head_dim);
            softmax<Arch>(scores, nk, 1, nk);
            // Each output is one chain over the keys in order, as torch's bmm
            // of the probabilities and the values sums them.
            float* o = out + i * ldo + col;
            for (int64_t c = 0; c < head_dim; c += L) {
                const int64_t width = head_dim - c < L ? head_dim - c : L;
                Batch acc(0.0f);
                for (int64_t b = 0, j = 0; b < num_blocks; ++b) {
                    const float* value = blocks[b].value + col + c;
                    for (int64_t r = 0; r < blocks[b].rows; ++r, ++j) {
                        const float* v = value + r * blocks[b].ld_value;
                        acc = xsimd::fma(Batch(scores[j]), width == L ? Batch::load_unaligned(v)
                                                                        : load_partial<Arch>(v, width, 0.0f),
                                         acc);
                    }
                }
                if (width == L)
                    acc.store_unaligned(o + c);
                else
                    store_partial<Arch>(acc, o + c, width);
            }
        }
    }
}

}  // namespace ember::kernels::EMBER_ISA_NS
