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

void linear(const Tensor& x, const LinearWeights& w, const Tensor& y, const Epilogue& epilogue) {
    EMBER_CHECK(x.cols == w.in_features && y.cols == w.out_features && x.rows == y.rows,
                "linear: (", x.rows, ", ", x.cols, ") x W(", w.out_features, ", ", w.in_features,
                ")^T -> (", y.rows, ", ", y.cols, ") does not fit");
    kernels::LinearEpilogue finish{epilogue.scale, epilogue.activation, nullptr, 0};
    if (epilogue.residual.data) {
        check_same_shape(epilogue.residual, y, "linear residual");
        finish.residual = epilogue.residual.data;
        finish.ld_residual = epilogue.residual.stride;
    }
    if (w.packed)
        kernels::linear_packed(x.data, x.stride, w.weight, w.bias, y.data, y.stride, x.rows, w.out_features,
                               w.in_features, finish);
    else
        kernels::linear(x.data, x.stride, w.weight, w.in_features, w.bias, y.data, y.stride, x.rows,
                        w.out_features, w.in_features, finish);
}

void layer_norm(const Tensor& x, const LayerNormWeights& w, float eps, const Tensor& y) {
    check_same_shape(x, y, "layer_norm");
    EMBER_CHECK(x.cols == w.dim, "layer_norm: width ", x.cols, " but weights of ", w.dim);
    kernels::layer_norm(x.data, x.stride, w.weight, w.bias, eps, y.data, y.stride, x.rows, x.cols);
}

void residual_layer_norm(const Tensor& x, const Tensor& residual, const LayerNormWeights& w, float eps,
                         const Tensor& y) {
    check_same_shape(x, residual, "residual_layer_norm");
    check_same_shape(residual, y, "residual_layer_norm");
    EMBER_CHECK(x.cols == w.dim, "residual_layer_norm: width ", x.cols, " but weights of ", w.dim);
    kernels::residual_layer_norm(x.data, x.stride, residual.data, residual.stride, w.weight, w.bias, eps, y.data,
                                 y.stride, x.rows, x.cols);
}

void activate(const Tensor& x, Activation activation) {
    switch (activation) {
        case Activation::none: return;
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

void attend(const Tensor& query, const KeyValue* blocks, int64_t num_blocks, int64_t num_heads,
            const Tensor& scores, const Tensor& out) {
    const int64_t d = query.cols;
    EMBER_CHECK(num_heads > 0 && d % num_heads == 0, "attend: ", num_heads, " heads do not divide width ", d);
    EMBER_CHECK(out.rows == query.rows && out.cols == d, "attend: output (", out.rows, ", ", out.cols,
                ") for a query of (", query.rows, ", ", d, ")");
    constexpr int64_t kMaxBlocks = 4;
    EMBER_CHECK(num_blocks >= 1 && num_blocks <= kMaxBlocks, "attend: ", num_blocks, " blocks of keys");
    kernels::KeyValueRows rows[kMaxBlocks];
    int64_t nk = 0, used = 0;
    for (int64_t b = 0; b < num_blocks; ++b) {
        const KeyValue& block = blocks[b];
        EMBER_CHECK(block.keys.cols == d && block.values.cols == d && block.keys.rows == block.values.rows,
                    "attend: block ", b, " of keys (", block.keys.rows, ", ", block.keys.cols, ") and values (",
                    block.values.rows, ", ", block.values.cols, ") for width ", d);
        // An empty block (no memory yet, no left context) may have no data at all.
        if (block.keys.rows == 0) continue;
        rows[used++] = {block.keys.data, block.values.data, block.keys.stride, block.values.stride,
                        block.keys.rows};
        nk += block.keys.rows;
    }
    EMBER_CHECK(nk > 0, "attend: no keys to attend to");
    // The scratch is used as one run of floats, (nq, keys) with rows nk apart.
    EMBER_CHECK(scores.rows > 0 && (scores.rows - 1) * scores.stride + scores.cols >= query.rows * nk,
                "attend: scores scratch too small");
    kernels::attention(query.data, query.stride, query.rows, rows, used, num_heads, d / num_heads, scores.data,
                       out.data, out.stride);
}

void embedding(const float* table, int64_t num_rows, const int64_t* ids, const Tensor& dst) {
    for (int64_t i = 0; i < dst.rows; ++i) {
        EMBER_CHECK(ids[i] >= 0 && ids[i] < num_rows, "embedding: token id ", ids[i], " out of range [0, ",
                    num_rows, ")");
        std::memcpy(dst.row(i), table + ids[i] * dst.cols, static_cast<size_t>(dst.cols) * sizeof(float));
    }
}

}  // namespace ember::ops
