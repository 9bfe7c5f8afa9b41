// Elementwise kernels: activations in place, and the residual add.
#pragma once

#include "kernels/simd_common.h"

namespace ember::kernels::EMBER_ISA_NS {

// x[i] = f(x[i]) for a vector functor f; the tail runs through a padded batch.
template <class Arch, class F>
void map_inplace(float* x, int64_t n, F f) {
    using Batch = xsimd::batch<float, Arch>;
    constexpr int64_t L = Batch::size;
    int64_t i = 0;
    for (; i + L <= n; i += L) f(Batch::load_unaligned(x + i)).store_unaligned(x + i);
    if (i < n) store_partial<Arch>(f(load_partial<Arch>(x + i, n - i, 0.0f)), x + i, n - i);
}

template <class Arch>
EMBER_KERNEL void relu(float* x, int64_t n) {
    using Batch = xsimd::batch<float, Arch>;
    map_inplace<Arch>(x, n, [](const Batch& v) { return xsimd::max(v, Batch(0.0f)); });
}

// x/2 * erfc(-x/sqrt 2) equals torch's x/2 * (1 + erf(x/sqrt 2)) but keeps
// its relative accuracy for negative x, where 1 + erf cancels.
template <class Arch>
EMBER_KERNEL void gelu(float* x, int64_t n) {
    using Batch = xsimd::batch<float, Arch>;
    map_inplace<Arch>(x, n, [](const Batch& v) {
        return Batch(0.5f) * v * xsimd::erfc(v * Batch(-0.70710678118654752f));
    });
}

template <class Arch>
EMBER_KERNEL void silu(float* x, int64_t n) {
    using Batch = xsimd::batch<float, Arch>;
    map_inplace<Arch>(x, n, [](const Batch& v) { return v / (Batch(1.0f) + xsimd::exp(-v)); });
}

template <class Arch>
EMBER_KERNEL void tanh(float* x, int64_t n) {
    using Batch = xsimd::batch<float, Arch>;
    map_inplace<Arch>(x, n, [](const Batch& v) { return xsimd::tanh(v); });
}

template <class Arch>
EMBER_KERNEL void sigmoid(float* x, int64_t n) {
    using Batch = xsimd::batch<float, Arch>;
    map_inplace<Arch>(x, n,
                      [](const Batch& v) { return Batch(1.0f) / (Batch(1.0f) + xsimd::exp(-v)); });
}

template <class Arch>
EMBER_KERNEL void add(const float* x, float* y, int64_t n) {
    using Batch = xsimd::batch<float, Arch>;
    constexpr int64_t L = Batch::size;
    int64_t i = 0;
    for (; i + L <= n; i += L)
        (Batch::load_unaligned(y + i) + Batch::load_unaligned(x + i)).store_unaligned(y + i);
    for (; i < n; ++i) y[i] += x[i];
}

}  // namespace ember::kernels::EMBER_ISA_NS
