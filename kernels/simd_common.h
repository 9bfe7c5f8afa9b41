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
