// Kernels for AVX2 + FMA3, built with -mavx2 -mfma (kernels/CMakeLists.txt).
#define EMBER_ISA_NS avx2
#include "kernels/simd_table.h"

namespace ember::kernels::avx2 {
// 16 ymm registers: 4 x 3 accumulators, 3 streamed vectors and 1 spare;
// packed: 6 rows x 1 panel (2 vectors) = 12 accumulators, as BLIS's Haswell
// 6 x 16 kernel.
extern const KernelTable table = make_table<xsimd::fma3<xsimd::avx2>, 4, 3, 6, 1>();
}  // namespace ember::kernels::avx2
