// Scalar reference kernels: the plain definitions the SIMD kernels are
// tested against. Written for clarity, not speed; sums accumulate in double so
// that the reference is the better-rounded answer.
#include <cmath>
#include <limits>

#include "kernels/kernels.h"

namespace ember::kernels::ref {

void linear(const float* A, int64_t lda, const float* W, int64_t ldw, const float* bias,
            float* C, int64_t ldc, int64_t M, int64_t N, int64_t K) {
    for (int64_t m = 0; m < M; ++m) {
        for (int64_t n = 0; n < N; ++n) {
            double sum = bias ? bias[n] : 0.0;
            for (int64_t k = 0; k < K; ++k) sum += double(A[m * lda + k]) * W[n * ldw + k];
            C[m * ldc + n] = float(sum);
        }
    }
}

void linear_packed(const float* A, int64_t lda, const float* packed_W, const float* bias, float* C,
                   int64_t ldc, int64_t M, int64_t N, int64_t K) {
    for (int64_t m = 0; m < M; ++m) {
        for (int64_t n = 0; n < N; ++n) {
            const float* column = packed_W + n / kPanelWidth * K * kPanelWidth + n % kPanelWidth;
            double sum = bias ? bias[n] : 0.0;
            for (int64_t k = 0; k < K; ++k) sum += double(A[m * lda + k]) * column[k * kPanelWidth];
            C[m * ldc + n] = float(sum);
        }
    }
}

void matmul(const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
            int64_t M, int64_t N, int64_t K) {
    for (int64_t m = 0; m < M; ++m) {
        for (int64_t n = 0; n < N; ++n) {
            double sum = 0.0;
            for (int64_t k = 0; k < K; ++k) sum += double(A[m * lda + k]) * B[k * ldb + n];
            C[m * ldc + n] = float(sum);
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
