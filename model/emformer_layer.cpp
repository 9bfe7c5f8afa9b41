#include "model/emformer_layer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/ops.h"

namespace ember {

namespace {

constexpr float kLayerNormEps = 1e-5f;  // torch.nn.LayerNorm's default, used by every Emformer norm

struct EmformerSizes {
    int64_t dim, segment, right_context, left_context, max_memory;
    bool use_memory;
};

EmformerSizes emformer_sizes(const EmformerRnntConfig& c) {
    // The Emformer is built with lengths divided by the stride (models/rnnt.py, _EmformerEncoder).
    return {c.transformer_dim(), c.segment_length / c.time_reduction_stride,
            c.right_context_length / c.time_reduction_stride, c.transformer_left_context_length,
            c.transformer_max_memory_size, c.transformer_max_memory_size > 0};
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The most key/value rows one segment's queries see in the non-streaming mask.
int64_t max_visible_keys(const EmformerSizes& e, const EmformerLayerShape& shape) {
    const int64_t memory = std::min(e.max_memory, shape.memory_rows);
    return memory + e.right_context + std::min(e.left_context + e.segment, shape.utterance_rows);
}

// Copies key/value rows [begin, begin + count) of `from` to `to` starting at row `at`; returns at + count.
int64_t gather_rows(const Tensor& from, int64_t begin, int64_t count, const Tensor& to, int64_t at) {
    if (count > 0) ops::copy(from.rows_slice(begin, count), to.rows_slice(at, count));
    return at + count;
}

// Non-streaming attention: each segment's right context block, utterance
// frames and summary attend only the columns _EmformerImpl._gen_attention_mask
// leaves open: memory [max(i - max_memory, 0), i), right context block i, and
// utterance frames [i*seg - left_context, (i+1)*seg); the summary row sees no
// memory. Masked columns get -1e8 in torch, i.e. exactly zero weight after the
// softmax, so attending only to the open columns gives the same result.
void segment_attention(const EmformerSizes& e, int64_t num_heads, const EmformerLayerShape& shape,
                       const EmformerLayerBuffers& buffers, const Tensor& query, const Tensor& key_value,
                       const Tensor& attention) {
    const int64_t R = shape.right_context_rows, U = shape.utterance_rows, M = shape.memory_rows, D = e.dim;
    const int64_t num_segments = ceil_div(U, e.segment);
    for (int64_t i = 0; i < num_segments; ++i) {
        const int64_t memory_begin = e.use_memory ? std::max<int64_t>(i - e.max_memory, 0) : i;
        const int64_t memory_count = i - memory_begin;
        const int64_t segment_begin = std::max<int64_t>(i * e.segment - e.left_context, 0);
        const int64_t segment_end = std::min((i + 1) * e.segment, U);

        int64_t rows = gather_rows(key_value, memory_begin, memory_count, buffers.gathered, 0);
        rows = gather_rows(key_value, M + i * e.right_context, e.right_context, buffers.gathered, rows);
        rows = gather_rows(key_value, M + R + segment_begin, segment_end - segment_begin, buffers.gathered, rows);
        const Tensor visible = buffers.gathered.rows_slice(0, rows);
        const Tensor keys = visible.cols_slice(0, D), values = visible.cols_slice(D, D);

        auto attend_rows = [&](int64_t first, int64_t count, int64_t skip_keys) {
            if (count == 0) return;
            ops::attend(query.rows_slice(first, count), keys.rows_slice(skip_keys, rows - skip_keys),
                        values.rows_slice(skip_keys, rows - skip_keys), num_heads, buffers.scores,
                        attention.rows_slice(first, count));
        };
        attend_rows(i * e.right_context, e.right_context, 0);
        attend_rows(R + i * e.segment, segment_end - i * e.segment, 0);
        if (shape.summary_rows > 0) attend_rows(R + U + i, 1, memory_count);
    }
}

// Streaming attention (_EmformerAttention.infer): keys are [memory; right
// context; utterance; left context] -- torch orders them [memory; right
// context; left context; utterance], which the softmax does not see -- and
// the only masked entries are the summary row's view of the memory.
void streaming_attention(const EmformerSizes& e, int64_t num_heads, const EmformerLayerShape& shape,
                         const EmformerLayerBuffers& buffers, const Tensor& query, const Tensor& key_value,
                         const Tensor& attention) {
    const int64_t R = shape.right_context_rows, U = shape.utterance_rows, M = shape.memory_rows;
    const Tensor keys = key_value.cols_slice(0, e.dim), values = key_value.cols_slice(e.dim, e.dim);
    ops::attend(query.rows_slice(0, R + U), keys, values, num_heads, buffers.scores, attention.rows_slice(0, R + U));
    if (shape.summary_rows > 0) {
        const int64_t n = key_value.rows - M;
        ops::attend(query.rows_slice(R + U, 1), keys.rows_slice(M, n), values.rows_slice(M, n), num_heads,
                    buffers.scores, attention.rows_slice(R + U, 1));
    }
}

}  // namespace

EmformerLayerShape max_layer_shape(const EmformerRnntConfig& config, bool streaming, int64_t utterance_rows) {
    const EmformerSizes e = emformer_sizes(config);
    EmformerLayerShape shape;
    shape.streaming = streaming;
    if (streaming) {
        shape.right_context_rows = e.right_context;
        shape.utterance_rows = e.segment;
        shape.summary_rows = e.use_memory ? 1 : 0;
        shape.memory_rows = e.use_memory ? e.max_memory : 0;
        shape.left_context_rows = e.left_context;
    } else {
        const int64_t num_segments = ceil_div(utterance_rows, e.segment);
        shape.right_context_rows = e.right_context * num_segments;
        shape.utterance_rows = utterance_rows;
        shape.summary_rows = e.use_memory ? num_segments : 0;
        shape.memory_rows = e.use_memory ? std::max<int64_t>(num_segments - 1, 0) : 0;
    }
    return shape;
}

EmformerLayerBuffers allocate_layer_buffers(Arena& arena, const EmformerRnntConfig& config,
                                            const EmformerLayerShape& s) {
    const EmformerSizes e = emformer_sizes(config);
    const int64_t D = e.dim;
    const int64_t frames = s.right_context_rows + s.utterance_rows;
    const int64_t queries = frames + s.summary_rows;
    const int64_t keys = s.memory_rows + frames + s.left_context_rows;
    EmformerLayerBuffers b;
    b.stack = arena.matrix(s.memory_rows + queries, D);
    b.query = arena.matrix(queries, D);
    b.key_value = arena.matrix(keys, 2 * D);
    b.attention = arena.matrix(queries, D);
    b.projected = arena.matrix(queries, D);
    b.ffn_input = arena.matrix(frames, D);
    b.ffn_hidden = arena.matrix(frames, config.transformer_ffn_dim);
    if (s.streaming) {
        b.scores = arena.matrix(queries, keys);
        b.gathered = arena.matrix(0, 2 * D);
    } else {
        const int64_t visible = max_visible_keys(e, s);
        b.scores = arena.matrix(std::max<int64_t>({e.right_context, e.segment, 1}), visible);
        b.gathered = arena.matrix(visible, 2 * D);
    }
    return b;
}

void emformer_layer(const EmformerLayerWeights& w, const EmformerRnntConfig& config, const EmformerLayerShape& shape,
                    const EmformerLayerBuffers& buffers, const Tensor& x, const Tensor& memory,
                    const Tensor& left_context, const Tensor& memory_out) {
    const EmformerSizes e = emformer_sizes(config);
    const int64_t R = shape.right_context_rows, U = shape.utterance_rows, S = shape.summary_rows;
    const int64_t M = shape.memory_rows, L = shape.left_context_rows, D = e.dim;
    const int64_t num_heads = config.transformer_num_heads;
    EMBER_CHECK(x.rows == R + U && memory.rows == M && memory_out.rows == S && left_context.rows == L,
                "emformer_layer: inputs do not match the layer shape");

    // [memory; layer_norm_input(right context; utterance); summary], so that the
    // query and key/value projections each read one contiguous block.
    const Tensor stack = buffers.stack.rows_slice(0, M + R + U + S);
    ops::copy(memory, stack.rows_slice(0, M));
    const Tensor normed = stack.rows_slice(M, R + U);
    ops::layer_norm(x, w.layer_norm_input, kLayerNormEps, normed);
    // Summary: the mean of each segment of the normed utterance (memory_op);
    // a streaming chunk holds exactly one segment.
    if (S > 0) ops::segment_means(normed.rows_slice(R, U), e.segment, stack.rows_slice(M + R + U, S));

    // Queries of [right context; utterance; summary], scaled after their bias.
    const Tensor query = buffers.query.rows_slice(0, R + U + S);
    ops::linear(stack.rows_slice(M, R + U + S), w.attention_emb_to_query, query);
    const int64_t head_dim = D / num_heads;
    ops::scale(query, static_cast<float>(std::pow(static_cast<double>(head_dim), -0.5)));

    // Keys and values of [memory; right context; utterance] (+ carried left context).
    const Tensor key_value = buffers.key_value.rows_slice(0, M + R + U + L);
    ops::linear(stack.rows_slice(0, M + R + U), w.attention_emb_to_key_value, key_value.rows_slice(0, M + R + U));
    if (L > 0) ops::copy(left_context, key_value.rows_slice(M + R + U, L));

    const Tensor attention = buffers.attention.rows_slice(0, R + U + S);
    if (shape.streaming)
        streaming_attention(e, num_heads, shape, buffers, query, key_value, attention);
    else
        segment_attention(e, num_heads, shape, buffers, query, key_value, attention);

    const Tensor projected = buffers.projected.rows_slice(0, R + U + S);
    ops::linear(attention, w.attention_out_proj, projected);
    if (S > 0) {
        const Tensor summary_out = projected.rows_slice(R + U, S);
        if (config.transformer_tanh_on_mem)
            ops::activate(summary_out, ops::Activation::tanh);
        else
            ops::clamp(summary_out, -10.0f, 10.0f);
        ops::copy(summary_out, memory_out);
    }

    // _process_attention_output: residual, position-wise feed-forward with its
    // own pre-norm, residual, output layer norm.
    const Tensor result = projected.rows_slice(0, R + U);
    ops::add(x, result);
    const Tensor ffn = buffers.ffn_input.rows_slice(0, R + U);
    ops::layer_norm(result, w.pos_ff_layer_norm, kLayerNormEps, ffn);
    const Tensor hidden = buffers.ffn_hidden.rows_slice(0, R + U);
    ops::linear(ffn, w.pos_ff_linear_in, hidden);
    ops::activate(hidden, w.activation);
    ops::linear(hidden, w.pos_ff_linear_out, ffn);
    ops::add(result, ffn);
    ops::layer_norm(ffn, w.layer_norm_output, kLayerNormEps, x);
}

}  // namespace ember
