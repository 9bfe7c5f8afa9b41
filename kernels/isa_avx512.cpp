// Kernels for AVX-512 (F, DQ, BW, VL), built with the flags set in
// kernels/CMakeLists.txt. Float kernels need only xsimd's avx512f kernels.
#define EMBER_ISA_NS avx512
#include "kernels/simd_table.h"

namespace ember::kernels::avx512 {
// 32 zmm registers: 6 x 4 accumulators, 4 streamed vectors and room to spare;
// packed: 12 rows x 2 panels (2 vectors) = 24 accumulators.
extern const KernelTable table = make_table<xsimd::avx512f, 6, 4, 12, 2>();
}  // namespace ember::kernels::avx512
