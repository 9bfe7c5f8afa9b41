// Packing linear weights into the panel layout linear_packed reads
// (kernels.h). Run by `ember convert` once per weight matrix, never at load.
#include "kernels/kernels.h"

namespace ember::kernels {

int64_t packed_linear_floats(int64_t N, int64_t K) {
    return (N + kPanelWidth - 1) / kPanelWidth * kPanelWidth * K;
}

void pack_linear_weights(const float* W, int64_t ldw, int64_t N, int64_t K, float* packed) {
    for (int64_t n0 = 0; n0 < N; n0 += kPanelWidth) {
        float* panel = packed + n0 * K;
        for (int64_t k = 0; k < K; ++k)
            for (int64_t c = 0; c < kPanelWidth; ++c)
                panel[k * kPanelWidth + c] = n0 + c < N ? W[(n0 + c) * ldw + k] : 0.0f;
    }
}

}  // namespace ember::kernels
