#include "engine/ops.h"

#include <algorithm>
#include <cstring>

#include "kernels/kernels.h"

namespace ember::ops {

namespace {

void check_same_shape(const Tensor& a, const Tensor& b, const char* what) {
    EMBER_CHECK(a.rows == b.rows && a.cols == b.cols, what, ": shape (", a.rows, ", ", a.cols,
                ") does not match (", b.rows, ", ", b.cols, ")");
}

// Applies an elementwise in-place kernel row by row (views may be strided).
template <class Kernel>
void each_row(const Tensor& x, Kernel kernel) {
    if (x.contiguous()) {
        kernel(x.data, x.rows * x.cols);
        return;
    }
    for (int64_t i = 0; i < x.rows; ++i) kernel(x.row(i), x.cols);
}

}  // namespace

Activation parse_activation(const std::string& name) {
    if (name == "relu") return Activation::relu;
    if (name == "gelu") return Activation::gelu;
    if (name == "silu") return Activation::silu;
    if (name == "tanh") return Activation::tanh;
    fail("unsupported activation '", name, "' (expected relu, gelu or silu)");
}

void linear(const Tensor& x, const LinearWeights& w, const Tensor& y) {
    EMBER_CHECK(x.cols == w.in_features && y.cols == w.out_features && x.rows == y.rows,
                "linear: (", x.rows, ", ", x.cols, ") x W(", w.out_features, ", ", w.in_features,
                ")^T -> (", y.rows, ", ", y.cols, ") does not fit");
    if (w.packed)
        kernels::linear_packed(x.data, x.stride, w.weight, w.bias, y.data, y.stride, x.rows, w.out_features,
                               w.in_features);
    else
        kernels::linear(x.data, x.stride, w.weight, w.in_features, w.bias, y.data, y.stride, x.rows,
                        w.out_features, w.in_features);
}

void layer_norm(const Tensor& x, const LayerNormWeights& w, float eps, const Tensor& y) {
    check_same_shape(x, y, "layer_norm");
    EMBER_CHECK(x.cols == w.dim, "layer_norm: width ", x.cols, " but weights of ", w.dim);
    kernels::layer_norm(x.data, x.stride, w.weight, w.bias, eps, y.data, y.stride, x.rows, x.cols);
}

void activate(const Tensor& x, Activation activation) {
    switch (activation) {
        case Activation::relu: return each_row(x, kernels::relu);
        case Activation::gelu: return each_row(x, kernels::gelu);
        case Activation::silu: return each_row(x, kernels::silu);
        case Activation::tanh: return each_row(x, kernels::tanh);
    }
}

void clamp(const Tensor& x, float lo, float hi) {
    each_row(x, [lo, hi](float* p, int64_t n) {
        for (int64_t i = 0; i < n; ++i) p[i] = std::min(std::max(p[i], lo), hi);
    });
}

void scale(const Tensor& x, float factor) {
    each_row(x, [factor](float* p, int64_t n) {
        for (int64_t i = 0; i < n; ++i) p[i] *= factor;
    });
}

void add(const Tensor& x, const Tensor& y) {
    check_same_shape(x, y, "add");
    if (x.contiguous() && y.contiguous()) return kernels::add(x.data, y.data, x.rows * x.cols);
    for (int64_t i = 0; i < x.rows; ++i) kernels::add(x.row(i), y.row(i), x.cols);
}

void copy(const Tensor& src, const Tensor& dst) {
    check_same_shape(src, dst, "copy");
    for (int64_t i = 0; i < src.rows; ++i)
        std::memcpy(dst.row(i), src.row(i), static_cast<size_t>(src.cols) * sizeof(float));
}

void segment_means(const Tensor& x, int64_t segment, const Tensor& out) {
    EMBER_CHECK(segment > 0, "segment_means: segment length must be positive");
    const int64_t count = (x.rows + segment - 1) / segment;
    EMBER_CHECK(out.rows == count && out.cols == x.cols, "segment_means: output (", out.rows, ", ",
                out.cols, ") but expected (", count, ", ", x.cols, ")");
    for (int64_t s = 0; s < count; ++s) {
        const int64_t begin = s * segment, end = std::min(begin + segment, x.rows);
        float* mean = out.row(s);
        std::fill(mean, mean + x.cols, 0.0f);
        for (int64_t t = begin; t < end; ++t) kernels::add(x.row(t), mean, x.cols);
        const float scale = 1.0f / static_cast<float>(end - begin);
        for (int64_t j = 0; j < x.cols; ++j) mean[j] *= scale;
    }
}

void attend(const Tensor& query, const Tensor& key, const Tensor& value, int64_t num_heads,
            const Tensor& scores, const Tensor& out) {
    const int64_t nq = query.rows, nk = key.rows, d = query.cols;
    EMBER_CHECK(num_heads > 0 && d % num_heads == 0, "attend: ", num_heads, " heads do not divide width ", d);
    EMBER_CHECK(key.cols == d && value.cols == d && value.rows == nk && out.rows == nq && out.cols == d,
                "attend: mismatched query/key/value/output shapes");
    EMBER_CHECK(scores.rows >= nq && scores.cols >= nk, "attend: scores scratch too small");
    const int64_t head_dim = d / num_heads;
    for (int64_t h = 0; h < num_heads; ++h) {
        const int64_t col = h * head_dim;
        // scores (nq, nk) = query_h (nq, hd) key_h (nk, hd)^T
        kernels::linear(query.data + col, query.stride, key.data + col, key.stride, nullptr, scores.data,
                        scores.stride, nq, nk, head_dim);
        kernels::softmax(scores.data, scores.stride, nq, nk);
        // out_h (nq, hd) = probs (nq, nk) value_h (nk, hd)
        kernels::matmul(scores.data, scores.stride, value.data + col, value.stride, out.data + col,
                        out.stride, nq, head_dim, nk);
    }
}

void embedding(const float* table, int64_t num_rows, const int64_t* ids, const Tensor& dst) {
    for (int64_t i = 0; i < dst.rows; ++i) {
        EMBER_CHECK(ids[i] >= 0 && ids[i] < num_rows, "embedding: token id ", ids[i], " out of range [0, ",
                    num_rows, ")");
        std::memcpy(dst.row(i), table + ids[i] * dst.cols, static_cast<size_t>(dst.cols) * sizeof(float));
    }
}

}  // namespace ember::ops
