// Kernels for any CPU: built with the compiler's default flags, so xsimd's
// default architecture is SSE2 on x86-64 (NEON on ARM).
#define EMBER_ISA_NS generic
#include "kernels/simd_table.h"

namespace ember::kernels::generic {
// 16 registers: 4 x 3 accumulators, 3 streamed vectors and 1 spare;
// packed: 3 rows x 1 panel (4 vectors) = 12 accumulators.
extern const KernelTable table = make_table<xsimd::default_arch, 4, 3, 3, 1>();
}  // namespace ember::kernels::generic
