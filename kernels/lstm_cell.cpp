// The LSTM cell step, written once over a kernel set so that the dispatched
// version and its reference twin are the same sequence of operations.
#include "kernels/kernels.h"

namespace ember::kernels {

namespace {

struct Dispatched {
    static void layer_norm(const float* x, const float* gamma, const float* beta, float eps, float* y, int64_t dim) {
        kernels::layer_norm(x, dim, gamma, beta, eps, y, dim, 1, dim);
    }
    static void sigmoid(float* x, int64_t n) { kernels::sigmoid(x, n); }
    static void tanh(float* x, int64_t n) { kernels::tanh(x, n); }
};

struct Reference {
    static void layer_norm(const float* x, const float* gamma, const float* beta, float eps, float* y, int64_t dim) {
        ref::layer_norm(x, dim, gamma, beta, eps, y, dim, 1, dim);
    }
    static void sigmoid(float* x, int64_t n) { ref::sigmoid(x, n); }
    static void tanh(float* x, int64_t n) { ref::tanh(x, n); }
};

// Mirrors _CustomLSTM.forward's loop body, row by row.
template <class K>
void lstm_cell_with(float* gates, int64_t ld_gates, const float* g_norm_weight, const float* g_norm_bias,
                    const float* c_norm_weight, const float* c_norm_bias, float eps, float* c, int64_t ldc,
                    float* h, int64_t ldh, int64_t rows, int64_t hidden) {
    const int64_t H = hidden;
    for (int64_t r = 0; r < rows; ++r) {
        float* g = gates + r * ld_gates;
        float* cell = c + r * ldc;
        float* out = h + r * ldh;
        if (g_norm_weight) K::layer_norm(g, g_norm_weight, g_norm_bias, eps, g, 4 * H);
        K::sigmoid(g, 2 * H);      // input and forget gates
        K::tanh(g + 2 * H, H);     // cell gate
        K::sigmoid(g + 3 * H, H);  // output gate
        const float* input_gate = g;
        const float* forget_gate = g + H;
        const float* cell_gate = g + 2 * H;
        const float* output_gate = g + 3 * H;
        for (int64_t j = 0; j < H; ++j) {
            const float kept = forget_gate[j] * cell[j];
            const float added = input_gate[j] * cell_gate[j];
            cell[j] = kept + added;
        }
        if (c_norm_weight) K::layer_norm(cell, c_norm_weight, c_norm_bias, eps, cell, H);
        for (int64_t j = 0; j < H; ++j) out[j] = cell[j];
        K::tanh(out, H);
        for (int64_t j = 0; j < H; ++j) out[j] *= output_gate[j];
    }
}

}  // namespace

void lstm_cell(float* gates, int64_t ld_gates, const float* g_norm_weight, const float* g_norm_bias,
               const float* c_norm_weight, const float* c_norm_bias, float eps, float* c, int64_t ldc, float* h,
               int64_t ldh, int64_t rows, int64_t hidden) {
    lstm_cell_with<Dispatched>(gates, ld_gates, g_norm_weight, g_norm_bias, c_norm_weight, c_norm_bias, eps, c, ldc,
                               h, ldh, rows, hidden);
}

namespace ref {
void lstm_cell(float* gates, int64_t ld_gates, const float* g_norm_weight, const float* g_norm_bias,
               const float* c_norm_weight, const float* c_norm_bias, float eps, float* c, int64_t ldc, float* h,
               int64_t ldh, int64_t rows, int64_t hidden) {
    lstm_cell_with<Reference>(gates, ld_gates, g_norm_weight, g_norm_bias, c_norm_weight, c_norm_bias, eps, c, ldc,
                              h, ldh, rows, hidden);
}
}  // namespace ref

}  // namespace ember::kernels
