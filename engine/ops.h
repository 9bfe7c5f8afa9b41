// Operations on tensor views, built on kernels/. No autograd, no allocation:
// every output is a view the caller provides. Shapes in comments are
// (rows, cols); rows are time steps of one stream.
#pragma once

#include <string>

#include "engine/tensor.h"
#include "kernels/kernels.h"

namespace ember::ops {

using kernels::Activation;
// "relu" | "gelu" | "silu" | "tanh"; throws ember::Error otherwise.
Activation parse_activation(const std::string& name);

// What linear does to x W^T + b before it stores it, in this order: x scale,
// the activation, + residual (n, out). The same bits as scale, activate and
// add after it, in one pass.
struct Epilogue {
    float scale = 1.0f;
    Activation activation = Activation::none;
    Tensor residual;  // empty: none; must not overlap y
};

// y (n, out) = x (n, in) W^T + b, then the epilogue. y must not overlap x.
void linear(const Tensor& x, const LinearWeights& w, const Tensor& y, const Epilogue& epilogue = {});

// y (n, d) = LayerNorm(x (n, d)); x and y may be the same view.
void layer_norm(const Tensor& x, const LayerNormWeights& w, float eps, const Tensor& y);

// residual += x, then y = LayerNorm(residual): a residual connection and the
// norm after it, in one pass. y may be residual, not x.
void residual_layer_norm(const Tensor& x, const Tensor& residual, const LayerNormWeights& w, float eps,
                         const Tensor& y);

// In place over every element of x.
void activate(const Tensor& x, Activation activation);
void clamp(const Tensor& x, float lo, float hi);

// dst = src; same shape, no overlap.
void copy(const Tensor& src, const Tensor& dst);

// out (ceil(n / segment), d): the mean of each run of `segment` rows of
// x (n, d), the last run possibly shorter -- torch.nn.AvgPool1d(segment,
// segment, ceil_mode=True) over time.
void segment_means(const Tensor& x, int64_t segment, const Tensor& out);

// One run of keys of an attention and their values, row for row.
struct KeyValue {
    Tensor keys, values;  // (n, d) each
};

// out (nq, d) = per head h: softmax(query_h key_h^T) value_h over the keys of
// every block in order, heads side by side along columns (d = num_heads *
// head_dim), the keys and values read where they lie (kernels::attention).
// The query is expected to be scaled already. scores is scratch holding at
// least nq x keys floats; there must be at least one key.
void attend(const Tensor& query, const KeyValue* blocks, int64_t num_blocks, int64_t num_heads,
            const Tensor& scores, const Tensor& out);

// dst (n, d): rows of table (num_rows, d) chosen by ids; an id out of range is an error.
void embedding(const float* table, int64_t num_rows, const int64_t* ids, const Tensor& dst);

}  // namespace ember::ops
