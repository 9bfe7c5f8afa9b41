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

// Copies rows [begin, begin + count) of `from` to `to` starting at row `at`; returns at + count.
int64_t gather_rows(const Tensor& from, int64_t begin, int64_t count, const Tensor& to, int64_t at) {
    if (count > 0) ops::copy(from.rows_slice(begin, count), to.rows_slice(at, count));
    return at + count;
}

// Keys and values of rows [begin, begin + count) of a (rows, 2D) matrix
// holding each row's key then its value.
ops::KeyValue key_value_rows(const Tensor& key_value, int64_t begin, int64_t count, int64_t dim) {
    if (count == 0) return {{nullptr, 0, dim, dim}, {nullptr, 0, dim, dim}};  // e.g. no left context kept
    const Tensor rows = key_value.rows_slice(begin, count);
    return {rows.cols_slice(0, dim), rows.cols_slice(dim, dim)};
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
        const int64_t segment_begin = std::max<int64_t>(i * e.segment - e.left_context, 0);
        const int64_t segment_end = std::min((i + 1) * e.segment, U);
        const ops::KeyValue visible[] = {
            key_value_rows(key_value, memory_begin, i - memory_begin, D),
            key_value_rows(key_value, M + i * e.right_context, e.right_context, D),
            key_value_rows(key_value, M + R + segment_begin, segment_end - segment_begin, D),
        };
        auto attend_rows = [&](int64_t first, int64_t count, const ops::KeyValue* blocks, int64_t num_blocks) {
            if (count == 0) return;
            ops::attend(query.rows_slice(first, count), blocks, num_blocks, num_heads, buffers.scores,
                        attention.rows_slice(first, count));
        };
        attend_rows(i * e.right_context, e.right_context, visible, 3);
        attend_rows(R + i * e.segment, segment_end - i * e.segment, visible, 3);
        if (shape.summary_rows > 0) attend_rows(R + U + i, 1, visible + 1, 2);
    }
}

// Streaming attention (_EmformerAttention.infer), stream by stream over the
// stacked rows: stream i's keys are [memory; right context; utterance; left
// context] -- torch orders them [memory; right context; left context;
// utterance], which the softmax does not see -- read where they lie, and the
// only masked entries are the summary row's view of the memory.
void streaming_attention(const EmformerSizes& e, int64_t num_heads, const EmformerLayerShape& shape,
                         const EmformerLayerBuffers& buffers, const EmformerLayerState* const* states,
                         int64_t streams, const Tensor& query, const Tensor& key_value, const Tensor& attention) {
    const int64_t F = shape.right_context_rows + shape.utterance_rows, S = shape.summary_rows;
    const int64_t frames_at = key_value.rows - streams * F;  // the memories come first
    int64_t memory_at = 0;
    for (int64_t i = 0; i < streams; ++i) {
        const EmformerLayerState& state = *states[i];
        const ops::KeyValue visible[] = {
            key_value_rows(key_value, memory_at, state.memory_rows, e.dim),
            key_value_rows(key_value, frames_at + i * F, F, e.dim),
            key_value_rows(state.left_context, 0, state.left_context_rows, e.dim),
        };
        memory_at += state.memory_rows;
        ops::attend(query.rows_slice(i * F, F), visible, 3, num_heads, buffers.scores,
                    attention.rows_slice(i * F, F));
        if (S > 0) {
            const int64_t summary = streams * F + i;
            ops::attend(query.rows_slice(summary, 1), visible + 1, 2, num_heads, buffers.scores,
                        attention.rows_slice(summary, 1));
        }
    }
}

// The layer on the stacked rows of `streams` streams, each bringing the
// memory (and, streaming, left context) in its state: the projections run
// once over every stream's rows, the attention per stream. Non-streaming is
// one stream.
void layer(const EmformerLayerWeights& w, const EmformerRnntConfig& config, const EmformerLayerShape& shape,
           const EmformerLayerBuffers& buffers, const Tensor& x, const EmformerLayerState* const* states,
           int64_t streams, const Tensor& memory_out) {
    const EmformerSizes e = emformer_sizes(config);
    const int64_t R = shape.right_context_rows, U = shape.utterance_rows, S = shape.summary_rows, D = e.dim;
    const int64_t F = R + U, frames = streams * F, summaries = streams * S;
    const int64_t num_heads = config.transformer_num_heads;
    int64_t memories = 0;
    for (int64_t i = 0; i < streams; ++i) memories += states[i]->memory_rows;
    EMBER_CHECK(x.rows == frames && memory_out.rows == summaries,
                "emformer_layer: inputs do not match the layer shape");

    // [memories; layer_norm_input(frames); summaries], so that the query and
    // key/value projections each read one contiguous block.
    const Tensor stack = buffers.stack.rows_slice(0, memories + frames + summaries);
    for (int64_t i = 0, at = 0; i < streams; ++i)
        at = gather_rows(states[i]->memory, 0, states[i]->memory_rows, stack, at);
    const Tensor normed = stack.rows_slice(memories, frames);
    ops::layer_norm(x, w.layer_norm_input, kLayerNormEps, normed);
    // Summary: the mean of each segment of a stream's normed utterance
    // (memory_op); a streaming chunk holds exactly one segment.
    for (int64_t i = 0; S > 0 && i < streams; ++i)
        ops::segment_means(normed.rows_slice(i * F + R, U), e.segment,
                           stack.rows_slice(memories + frames + i * S, S));

    // Queries of [frames; summaries], scaled after their bias.
    const Tensor query = buffers.query.rows_slice(0, frames + summaries);
    ops::Epilogue scaled;
    scaled.scale = static_cast<float>(std::pow(static_cast<double>(D / num_heads), -0.5));
    ops::linear(stack.rows_slice(memories, frames + summaries), w.attention_emb_to_query, query, scaled);

    // Keys and values of [memories; frames].
    const Tensor key_value = buffers.key_value.rows_slice(0, memories + frames);
    ops::linear(stack.rows_slice(0, memories + frames), w.attention_emb_to_key_value, key_value);

    const Tensor attention = buffers.attention.rows_slice(0, frames + summaries);
    if (shape.streaming)
        streaming_attention(e, num_heads, shape, buffers, states, streams, query, key_value, attention);
    else
        segment_attention(e, num_heads, shape, buffers, query, key_value, attention);

    const Tensor projected = buffers.projected.rows_slice(0, frames + summaries);
    ops::linear(attention, w.attention_out_proj, projected);
    if (S > 0) {
        const Tensor summary_out = projected.rows_slice(frames, summaries);
        if (config.transformer_tanh_on_mem)
            ops::activate(summary_out, ops::Activation::tanh);
        else
            ops::clamp(summary_out, -10.0f, 10.0f);
        ops::copy(summary_out, memory_out);
    }

    // _process_attention_output: residual, position-wise feed-forward with its
    // own pre-norm, residual, output layer norm.
    const Tensor result = projected.rows_slice(0, frames);
    const Tensor ffn = buffers.ffn_input.rows_slice(0, frames);
    ops::residual_layer_norm(x, result, w.pos_ff_layer_norm, kLayerNormEps, ffn);
    const Tensor hidden = buffers.ffn_hidden.rows_slice(0, frames);
    ops::Epilogue activated;
    activated.activation = w.activation;
    ops::linear(ffn, w.pos_ff_linear_in, hidden, activated);
    ops::Epilogue plus_result;
    plus_result.residual = result;
    ops::linear(hidden, w.pos_ff_linear_out, ffn, plus_result);
    ops::layer_norm(ffn, w.layer_norm_output, kLayerNormEps, x);
}

// Appends `rows` to the last `window.rows` rows kept in `window` (oldest
// first), which holds `count` valid rows; returns the new count. Mirrors
// _pack_state, which concatenates and keeps the tail.
int64_t push_rows(const Tensor& window, int64_t count, const Tensor& rows) {
    const int64_t capacity = window.rows;
    if (capacity == 0) return 0;
    const int64_t incoming = std::min(rows.rows, capacity);
    const int64_t keep = std::min(count, capacity - incoming);
    if (keep > 0 && count - keep > 0)
        std::memmove(window.row(0), window.row(count - keep), static_cast<size_t>(keep * window.stride) * sizeof(float));
    ops::copy(rows.rows_slice(rows.rows - incoming, incoming), window.rows_slice(keep, incoming));
    return keep + incoming;
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
                                            const EmformerLayerShape& s, int64_t streams) {
    EMBER_CHECK(streams >= 1 && (s.streaming || streams == 1),
                "emformer layer buffers: a non-streaming call runs one stream, streaming at least one; got ", streams);
    const EmformerSizes e = emformer_sizes(config);
    const int64_t D = e.dim;
    const int64_t frames = s.right_context_rows + s.utterance_rows;
    const int64_t queries = streams * (frames + s.summary_rows);
    const int64_t memories = streams * s.memory_rows;
    EmformerLayerBuffers b;
    b.stack = arena.matrix(memories + queries, D);
    b.query = arena.matrix(queries, D);
    b.key_value = arena.matrix(memories + streams * frames, 2 * D);
    b.attention = arena.matrix(queries, D);
    b.projected = arena.matrix(queries, D);
    b.ffn_input = arena.matrix(streams * frames, D);
    b.ffn_hidden = arena.matrix(streams * frames, config.transformer_ffn_dim);
    if (s.streaming)
        b.scores = arena.matrix(std::max<int64_t>(frames, 1), s.memory_rows + frames + s.left_context_rows);
    else
        b.scores = arena.matrix(std::max<int64_t>({e.right_context, e.segment, 1}), max_visible_keys(e, s));
    return b;
}

void emformer_layer_forward(const EmformerLayerWeights& w, const EmformerRnntConfig& config,
                            const EmformerLayerShape& shape, const EmformerLayerBuffers& buffers, const Tensor& x,
                            const Tensor& memory, const Tensor& memory_out) {
    EMBER_CHECK(!shape.streaming && memory.rows == shape.memory_rows && shape.left_context_rows == 0,
                "emformer_layer_forward: inputs do not match the layer shape");
    EmformerLayerState utterance;
    utterance.memory = memory;
    utterance.memory_rows = memory.rows;
    const EmformerLayerState* const states[] = {&utterance};
    layer(w, config, shape, buffers, x, states, 1, memory_out);
}

void emformer_layer_infer(const EmformerLayerWeights& w, const EmformerRnntConfig& config,
                          const EmformerLayerBuffers& buffers, const Tensor& x, EmformerLayerState* const* states,
                          int64_t streams, const Tensor& memory_in, const Tensor& memory_out) {
    const EmformerLayerShape shape = max_layer_shape(config, true, 0);
    const int64_t R = shape.right_context_rows, U = shape.utterance_rows, F = R + U;
    EMBER_CHECK(streams >= 1 && memory_in.rows == streams * shape.summary_rows,
                "emformer_layer_infer: ", streams, " streams with ", memory_in.rows, " memory vectors");
    int64_t memories = 0;
    for (int64_t i = 0; i < streams; ++i) {
        const EmformerLayerState& state = *states[i];
        EMBER_CHECK(state.memory_rows <= shape.memory_rows && state.left_context_rows <= shape.left_context_rows,
                    "emformer_layer_infer: stream ", i, "'s state holds more than the layer carries");
        memories += state.memory_rows;
    }
    layer(w, config, shape, buffers, x, states, streams, memory_out);

    // _pack_state: the memory entering the layer and the chunk's utterance
    // keys and values join each stream's state for its next chunk.
    for (int64_t i = 0; i < streams; ++i) {
        EmformerLayerState& state = *states[i];
        const Tensor utterance_key_value = buffers.key_value.rows_slice(memories + i * F + R, U);
        state.left_context_rows = push_rows(state.left_context, state.left_context_rows, utterance_key_value);
        if (shape.summary_rows > 0)
            state.memory_rows = push_rows(state.memory, state.memory_rows, memory_in.rows_slice(i, 1));
    }
}

}  // namespace ember
