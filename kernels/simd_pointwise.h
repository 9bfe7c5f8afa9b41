// Elementwise kernels: the activations (in place, and as the vector functions
// a linear's epilogue applies), and the residual add.
#pragma once

#include "kernels/kernels.h"
#include "kernels/simd_common.h"

namespace ember::kernels::EMBER_ISA_NS {

// x[i] = f(x[i]) for a vector functor f; the tail runs through a padded batch.
template <class Arch, class F>
void map_inplace(float* x, int64_t n, F f) {
    constexpr int64_t L = xsimd::batch<float, Arch>::size;
    for (int64_t i = 0; i < n; i += L) store_columns<Arch>(f(load_columns<Arch>(x, i, n)), x, i, n);
}

template <class Arch>
xsimd::batch<float, Arch> relu_of(const xsimd::batch<float, Arch>& v) {
    return xsimd::max(v, xsimd::batch<float, Arch>(0.0f));
}

// x/2 * erfc(-x/sqrt 2) equals torch's x/2 * (1 + erf(x/sqrt 2)) but keeps
// its relative accuracy for negative x, where 1 + erf cancels.
template <class Arch>
xsimd::batch<float, Arch> gelu_of(const xsimd::batch<float, Arch>& v) {
    using Batch = xsimd::batch<float, Arch>;
    return Batch(0.5f) * v * xsimd::erfc(v * Batch(-0.70710678118654752f));
}

template <class Arch>
xsimd::batch<float, Arch> silu_of(const xsimd::batch<float, Arch>& v) {
    return v / (xsimd::batch<float, Arch>(1.0f) + xsimd::exp(-v));
}

template <class Arch>
xsimd::batch<float, Arch> tanh_of(const xsimd::batch<float, Arch>& v) {
    return xsimd::tanh(v);
}

template <class Arch>
xsimd::batch<float, Arch> activation_of(Activation activation, const xsimd::batch<float, Arch>& v) {
    switch (activation) {
        case Activation::none: return v;
        case Activation::relu: return relu_of<Arch>(v);
        case Activation::gelu: return gelu_of<Arch>(v);
        case Activation::silu: return silu_of<Arch>(v);
        case Activation::tanh: return tanh_of<Arch>(v);
    }
    return v;
}

template <class Arch>
EMBER_KERNEL void relu(float* x, int64_t n) {
    map_inplace<Arch>(x, n, relu_of<Arch>);
}

template <class Arch>
EMBER_KERNEL void gelu(float* x, int64_t n) {
    map_inplace<Arch>(x, n, gelu_of<Arch>);
}

template <class Arch>
EMBER_KERNEL void silu(float* x, int64_t n) {
    map_inplace<Arch>(x, n, silu_of<Arch>);
}

template <class Arch>
EMBER_KERNEL void tanh(float* x, int64_t n) {
    map_inplace<Arch>(x, n, tanh_of<Arch>);
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

// The epilogue (kernels.h) of the vector `v` of outputs (A W^T + bias) at
// columns [c, c + L) of row m, columns past `valid` being padding.
template <class Arch>
xsimd::batch<float, Arch> finish_columns(xsimd::batch<float, Arch> v, const LinearEpilogue& epilogue, int64_t m,
                                         int64_t c, int64_t valid) {
    using Batch = xsimd::batch<float, Arch>;
    if (epilogue.scale != 1.0f) v *= Batch(epilogue.scale);
    v = activation_of<Arch>(epilogue.activation, v);
    if (epilogue.residual) v += load_columns<Arch>(epilogue.residual + m * epilogue.ld_residual, c, valid);
    return v;
}

// Not inlined into the packed GEMM's tiles (simd_linear_packed.h), which call it.
template <class Arch>
EMBER_KERNEL __attribute__((noinline)) void finish_linear(float* C, int64_t ldc, int64_t M, int64_t N,
                                                          const LinearEpilogue& epilogue) {
    constexpr int64_t L = xsimd::batch<float, Arch>::size;
    for (int64_t m = 0; m < M; ++m) {
        float* row = C + m * ldc;
        for (int64_t c = 0; c < N; c += L)
            store_columns<Arch>(finish_columns<Arch>(load_columns<Arch>(row, c, N), epilogue, m, c, N), row, c, N);
    }
}

}  // namespace ember::kernels::EMBER_ISA_NS
