// Helpers shared by the simd_*.h kernel templates. These headers are compiled
// once per ISA, each time inside the namespace the including isa_*.cpp names
// in EMBER_ISA_NS, so every instantiation carries its ISA in its symbol name.
#pragma once

#ifndef EMBER_ISA_NS
#error "kernels/simd_*.h are included only by kernels/isa_*.cpp, which define EMBER_ISA_NS"
#endif

#include <xsimd/xsimd.hpp>

#include <cstdint>

// Every kernel entry point inlines all it calls, so the TU emits no
// out-of-line copy of an xsimd helper, compiled with this ISA's flags, that
// the linker could hand to another ISA's TU (see kernels/CMakeLists.txt).
#define EMBER_KERNEL __attribute__((flatten))
// A register tile (a GEMM's or attention's), called once per tile with a long
// inner loop: one out-of-line copy per shape, itself inlining all it calls,
// rather than one inlined at every call site of every edge shape, which made
// the sanitizer builds of the kernel TUs take tens of minutes.
#define EMBER_TILE __attribute__((flatten, noinline))

namespace ember::kernels::EMBER_ISA_NS {

// Row-range tails go through a full batch padded with `fill`, so the tail is
// computed by the same vector code as the body and rounds the same way.
template <class Arch>
xsimd::batch<float, Arch> load_partial(const float* p, int64_t n, float fill) {
    using Batch = xsimd::batch<float, Arch>;
    alignas(64) float buf[Batch::size];
    for (int64_t i = 0; i < int64_t(Batch::size); ++i) buf[i] = i < n ? p[i] : fill;
    return Batch::load_aligned(buf);
}

template <class Arch>
void store_partial(const xsimd::batch<float, Arch>& v, float* p, int64_t n) {
    alignas(64) float buf[xsimd::batch<float, Arch>::size];
    v.store_aligned(buf);
    for (int64_t i = 0; i < n; ++i) p[i] = buf[i];
}

// Columns [c, c + L) of a row of `valid` columns, those past the end read as
// `fill` and not written: a loop `for (c = 0; c < valid; c += L)` over these
// has one call site for its body and its tail, so a kernel whose body inlines
// long vector math (exp, erfc, tanh) emits it once.
template <class Arch>
xsimd::batch<float, Arch> load_columns(const float* p, int64_t c, int64_t valid, float fill = 0.0f) {
    using Batch = xsimd::batch<float, Arch>;
    constexpr int64_t L = Batch::size;
    if (c + L <= valid) return Batch::load_unaligned(p + c);
    return c < valid ? load_partial<Arch>(p + c, valid - c, fill) : Batch(fill);
}

template <class Arch>
void store_columns(const xsimd::batch<float, Arch>& v, float* p, int64_t c, int64_t valid) {
    constexpr int64_t L = xsimd::batch<float, Arch>::size;
    if (c + L <= valid)
        v.store_unaligned(p + c);
    else if (c < valid)
        store_partial<Arch>(v, p + c, valid - c);
}

// xsimd 8.1 has a horizontal add (hadd) but no horizontal max.
template <class Arch>
float reduce_max(const xsimd::batch<float, Arch>& v) {
    alignas(64) float buf[xsimd::batch<float, Arch>::size];
    v.store_aligned(buf);
    float m = buf[0];
    for (float x : buf) m = x > m ? x : m;
    return m;
}

}  // namespace ember::kernels::EMBER_ISA_NS
