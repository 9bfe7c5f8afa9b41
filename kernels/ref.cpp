// Scalar reference kernels: the plain definitions the SIMD kernels are
// tested against. Written for clarity, not speed; sums accumulate in double so
// that the reference is the better-rounded answer.
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/kernels.h"

namespace ember::kernels::ref {

namespace {

// The epilogue (kernels.h) of one output, y = A W^T + bias at (m, n).
float finish(float y, const LinearEpilogue& epilogue, int64_t m, int64_t n) {
    y *= epilogue.scale;
    switch (epilogue.activation) {
        case Activation::none: break;
        case Activation::relu: relu(&y, 1); break;
        case Activation::gelu: gelu(&y, 1); break;
        case Activation::silu: silu(&y, 1); break;
        case Activation::tanh: tanh(&y, 1); break;
    }
    return epilogue.residual ? y + epilogue.residual[m * epilogue.ld_residual + n] : y;
}

}  // namespace

void linear(const float* A, int64_t lda, const float* W, int64_t ldw, const float* bias,
            float* C, int64_t ldc, int64_t M, int64_t N, int64_t K, const LinearEpilogue& epilogue) {
    for (int64_t m = 0; m < M; ++m) {
        for (int64_t n = 0; n < N; ++n) {
            double sum = bias ? bias[n] : 0.0;
            for (int64_t k = 0; k < K; ++k) sum += double(A[m * lda + k]) * W[n * ldw + k];
            C[m * ldc + n] = finish(float(sum), epilogue, m, n);
        }
    }
}

void linear_packed(const float* A, int64_t lda, const float* packed_W, const float* bias, float* C,
                   int64_t ldc, int64_t M, int64_t N, int64_t K, const LinearEpilogue& epilogue) {
    for (int64_t m = 0; m < M; ++m) {
        for (int64_t n = 0; n < N; ++n) {
            const float* column = packed_W + n / kPanelWidth * K * kPanelWidth + n % kPanelWidth;
            double sum = bias ? bias[n] : 0.0;
            for (int64_t k = 0; k < K; ++k) sum += double(A[m * lda + k]) * column[k * kPanelWidth];
            C[m * ldc + n] = finish(float(sum), epilogue, m, n);
        }
    }
}

void attention(const float* query, int64_t ldq, int64_t nq, const KeyValueRows* blocks, int64_t num_blocks,
               int64_t num_heads, int64_t head_dim, float* scores, float* out, int64_t ldo) {
    int64_t nk = 0;
    for (int64_t b = 0; b < num_blocks; ++b) nk += blocks[b].rows;
    std::vector<double> weights(static_cast<size_t>(nk));
    for (int64_t h = 0; h < num_heads; ++h) {
        const int64_t col = h * head_dim;
        for (int64_t i = 0; i < nq; ++i) {
            double max = -std::numeric_limits<double>::infinity();
            for (int64_t b = 0, j = 0; b < num_blocks; ++b) {
                for (int64_t r = 0; r < blocks[b].rows; ++r, ++j) {
                    double s = 0.0;
                    for (int64_t d = 0; d < head_dim; ++d)
                        s += double(query[i * ldq + col + d]) * blocks[b].key[r * blocks[b].ld_key + col + d];
                    weights[size_t(j)] = s;
                    max = s > max ? s : max;
                }
            }
            double sum = 0.0;
            for (double& w : weights) sum += (w = std::exp(w - max));
            for (int64_t j = 0; j < nk; ++j) scores[j] = float(weights[size_t(j)] / sum);
            for (int64_t d = 0; d < head_dim; ++d) {
                double o = 0.0;
                for (int64_t b = 0, j = 0; b < num_blocks; ++b)
                    for (int64_t r = 0; r < blocks[b].rows; ++r, ++j)
                        o += weights[size_t(j)] / sum * blocks[b].value[r * blocks[b].ld_value + col + d];
                out[i * ldo + col + d] = float(o);
            }
        }
    }
}

void layer_norm(const float* x, int64_t ldx, const float* gamma, const float* beta, float eps,
                float* y, int64_t ldy, int64_t rows, int64_t dim) {
    for (int64_t r = 0; r < rows; ++r) {
        const float* in = x + r * ldx;
        float* out = y + r * ldy;
        double sum = 0.0;
        for (int64_t i = 0; i < dim; ++i) sum += in[i];
        const double mean = sum / double(dim);
        double sq = 0.0;
        for (int64_t i = 0; i < dim; ++i) sq += (in[i] - mean) * (in[i] - mean);
        const double rstd = 1.0 / std::sqrt(sq / double(dim) + eps);
        for (int64_t i = 0; i < dim; ++i)
            out[i] = float((in[i] - mean) * rstd * gamma[i] + beta[i]);
    }
}

void residual_layer_norm(const float* x, int64_t ldx, float* y, int64_t ldy, const float* gamma,
                         const float* beta, float eps, float* out, int64_t ldout, int64_t rows, int64_t dim) {
    for (int64_t r = 0; r < rows; ++r) {
        add(x + r * ldx, y + r * ldy, dim);
        layer_norm(y + r * ldy, ldy, gamma, beta, eps, out + r * ldout, ldout, 1, dim);
    }
}

void relu(float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void gelu(float* x, int64_t n) {
    // erfc form of x/2 * (1 + erf(x/sqrt 2)): see simd_pointwise.h.
    for (int64_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * std::erfc(x[i] * -0.70710678118654752f);
}

void silu(float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-x[i]));
}

void tanh(float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
}

void sigmoid(float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] = 1.0f / (1.0f + std::exp(-x[i]));
}

void softmax(float* x, int64_t ldx, int64_t rows, int64_t cols) {
    for (int64_t r = 0; r < rows; ++r) {
        float* row = x + r * ldx;
        float max = -std::numeric_limits<float>::infinity();
        for (int64_t i = 0; i < cols; ++i) max = row[i] > max ? row[i] : max;
        double sum = 0.0;
        for (int64_t i = 0; i < cols; ++i) {
            row[i] = std::exp(row[i] - max);
            sum += row[i];
        }
        for (int64_t i = 0; i < cols; ++i) row[i] = float(row[i] / sum);
    }
}

void log_softmax(float* x, int64_t ldx, int64_t rows, int64_t cols) {
    for (int64_t r = 0; r < rows; ++r) {
        float* row = x + r * ldx;
        float max = -std::numeric_limits<float>::infinity();
        for (int64_t i = 0; i < cols; ++i) max = row[i] > max ? row[i] : max;
        double sum = 0.0;
        for (int64_t i = 0; i < cols; ++i) sum += std::exp(double(row[i]) - max);
        const double log_sum = std::log(sum);
        for (int64_t i = 0; i < cols; ++i) row[i] = float(double(row[i]) - max - log_sum);
    }
}

void add(const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

}  // namespace ember::kernels::ref
