// Row-wise kernels: softmax and layer norm, each row reduced then rewritten.
#pragma once

#include "kernels/simd_common.h"
#include "kernels/simd_pointwise.h"

#include <cmath>
#include <limits>

namespace ember::kernels::EMBER_ISA_NS {

template <class Arch>
float row_max(const float* row, int64_t cols) {
    using Batch = xsimd::batch<float, Arch>;
    constexpr float lowest = -std::numeric_limits<float>::infinity();
    Batch vmax(lowest);
    for (int64_t i = 0; i < cols; i += Batch::size)
        vmax = xsimd::max(vmax, load_columns<Arch>(row, i, cols, lowest));
    return reduce_max<Arch>(vmax);
}

// Like torch: subtract the row max before exp, then scale by 1 / sum. Padding
// lanes are -inf, whose exp adds nothing to the sum.
template <class Arch>
EMBER_KERNEL void softmax(float* x, int64_t ldx, int64_t rows, int64_t cols) {
    using Batch = xsimd::batch<float, Arch>;
    constexpr int64_t L = Batch::size;
    constexpr float lowest = -std::numeric_limits<float>::infinity();
    for (int64_t r = 0; r < rows; ++r) {
        float* row = x + r * ldx;
        const Batch max(row_max<Arch>(row, cols));
        Batch vsum(0.0f);
        for (int64_t i = 0; i < cols; i += L) {
            const Batch e = xsimd::exp(load_columns<Arch>(row, i, cols, lowest) - max);
            store_columns<Arch>(e, row, i, cols);
            vsum += e;
        }
        const Batch scale(1.0f / xsimd::hadd(vsum));
        for (int64_t i = 0; i < cols; i += L)
            store_columns<Arch>(load_columns<Arch>(row, i, cols) * scale, row, i, cols);
    }
}

// Like torch's log_softmax over the last dimension: x - max - log(sum(exp(x - max))).
template <class Arch>
EMBER_KERNEL void log_softmax(float* x, int64_t ldx, int64_t rows, int64_t cols) {
    using Batch = xsimd::batch<float, Arch>;
    constexpr int64_t L = Batch::size;
    constexpr float lowest = -std::numeric_limits<float>::infinity();
    for (int64_t r = 0; r < rows; ++r) {
        float* row = x + r * ldx;
        const Batch max(row_max<Arch>(row, cols));
        Batch vsum(0.0f);
        for (int64_t i = 0; i < cols; i += L) vsum += xsimd::exp(load_columns<Arch>(row, i, cols, lowest) - max);
        const Batch log_sum(std::log(xsimd::hadd(vsum)));
        for (int64_t i = 0; i < cols; i += L)
            store_columns<Arch>(load_columns<Arch>(row, i, cols) - max - log_sum, row, i, cols);
    }
}

// Two passes per row (mean, then the mean of squared deviations) rather than
// sum and sum of squares, which cancels badly when |mean| >> stddev.
template <class Arch>
void layer_norm_row(const float* in, const float* gamma, const float* beta, float eps, float* out, int64_t dim) {
    using Batch = xsimd::batch<float, Arch>;
    constexpr int64_t L = Batch::size;
    const int64_t body = dim / L * L, tail = dim - body;
    Batch vsum(0.0f);
    for (int64_t i = 0; i < body; i += L) vsum += Batch::load_unaligned(in + i);
    if (tail) vsum += load_partial<Arch>(in + body, tail, 0.0f);
    const float mean_s = xsimd::hadd(vsum) / float(dim);
    const Batch mean(mean_s);

    Batch vvar(0.0f);
    for (int64_t i = 0; i < body; i += L) {
        const Batch d = Batch::load_unaligned(in + i) - mean;
        vvar = xsimd::fma(d, d, vvar);
    }
    if (tail) {
        // Padding lanes hold the mean, so they deviate by zero.
        const Batch d = load_partial<Arch>(in + body, tail, mean_s) - mean;
        vvar = xsimd::fma(d, d, vvar);
    }
    const Batch rstd(1.0f / std::sqrt(xsimd::hadd(vvar) / float(dim) + eps));

    // Each element is read before it is written, so out may alias in.
    for (int64_t i = 0; i < body; i += L) {
        const Batch n = (Batch::load_unaligned(in + i) - mean) * rstd;
        xsimd::fma(n, Batch::load_unaligned(gamma + i), Batch::load_unaligned(beta + i)).store_unaligned(out + i);
    }
    if (tail) {
        const Batch n = (load_partial<Arch>(in + body, tail, 0.0f) - mean) * rstd;
        const Batch g = load_partial<Arch>(gamma + body, tail, 0.0f);
        const Batch b = load_partial<Arch>(beta + body, tail, 0.0f);
        store_partial<Arch>(xsimd::fma(n, g, b), out + body, tail);
    }
}

template <class Arch>
EMBER_KERNEL void layer_norm(const float* x, int64_t ldx, const float* gamma, const float* beta,
                             float eps, float* y, int64_t ldy, int64_t rows, int64_t dim) {
    for (int64_t r = 0; r < rows; ++r) layer_norm_row<Arch>(x + r * ldx, gamma, beta, eps, y + r * ldy, dim);
}

// The row's sum is still in L1 when the norm reads it back.
template <class Arch>
EMBER_KERNEL void residual_layer_norm(const float* x, int64_t ldx, float* y, int64_t ldy, const float* gamma,
                                      const float* beta, float eps, float* out, int64_t ldout, int64_t rows,
                                      int64_t dim) {
    for (int64_t r = 0; r < rows; ++r) {
        add<Arch>(x + r * ldx, y + r * ldy, dim);
        layer_norm_row<Arch>(y + r * ldy, gamma, beta, eps, out + r * ldout, dim);
    }
}

}  // namespace ember::kernels::EMBER_ISA_NS
