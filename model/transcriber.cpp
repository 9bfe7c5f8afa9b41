#include "model/transcriber.h"

#include <algorithm>
#include <cstring>

#include "engine/ops.h"

namespace ember {

namespace {

constexpr float kLayerNormEps = 1e-5f;

// out (n, D) = _TimeReduction(input_linear(features (n * stride, input_dim))):
// output row j is the projections of frames stride*j .. stride*j + stride - 1
// side by side. Projecting every stride-th frame into its column block does
// the reshape without a copy.
void project_and_reduce(const EmformerRnntConfig& c, const LinearWeights& input_linear, const Tensor& features,
                        const Tensor& out) {
    const int64_t stride = c.time_reduction_stride, width = c.time_reduction_input_dim;
    EMBER_CHECK(features.rows == out.rows * stride, "time reduction: ", features.rows, " frames for ", out.rows,
                " output rows");
    for (int64_t k = 0; k < stride; ++k) {
        const Tensor every_stride_th{features.data + k * features.stride, out.rows, features.cols,
                                     stride * features.stride};
        ops::linear(every_stride_th, input_linear, out.cols_slice(k * width, width));
    }
}

// output_linear then layer_norm on the Emformer's utterance frames.
void project_output(const TranscriberWeights& w, const Tensor& utterance, const Tensor& out) {
    ops::linear(utterance, w.output_linear, out);
    ops::layer_norm(out, w.layer_norm, kLayerNormEps, out);
}

struct Lengths {
    int64_t segment, right_context;  // in Emformer frames
};

Lengths emformer_lengths(const EmformerRnntConfig& c) {
    return {c.segment_length / c.time_reduction_stride, c.right_context_length / c.time_reduction_stride};
}

// Scratch of one non-streaming call.
struct TranscribeBuffers {
    Tensor reduced;                 // (T', D): time-reduced input, right context included
    Tensor frames;                  // (R + U, D): [right context blocks; utterance]
    Tensor memory_a, memory_b;      // (S, D): memory entering / leaving a layer
    EmformerLayerBuffers layer;
};

TranscribeBuffers allocate_transcribe_buffers(Arena& arena, const EmformerRnntConfig& c,
                                              const EmformerLayerShape& shape, int64_t reduced_rows) {
    const int64_t D = c.transformer_dim();
    TranscribeBuffers b;
    b.reduced = arena.matrix(reduced_rows, D);
    b.frames = arena.matrix(shape.right_context_rows + shape.utterance_rows, D);
    b.memory_a = arena.matrix(shape.summary_rows, D);
    b.memory_b = arena.matrix(shape.summary_rows, D);
    b.layer = allocate_layer_buffers(arena, c, shape);
    return b;
}

}  // namespace

int64_t transcribe_output_rows(const EmformerRnntConfig& c, int64_t input_frames) {
    return input_frames / c.time_reduction_stride - c.right_context_length / c.time_reduction_stride;
}

void transcribe(const Model& model, const Tensor& features, const Tensor& out) {
    const EmformerRnntConfig& c = model.config();
    const TranscriberWeights& w = model.weights.transcriber;
    const Lengths len = emformer_lengths(c);
    const int64_t U = transcribe_output_rows(c, features.rows);
    EMBER_CHECK(features.cols == c.input_dim, "features have ", features.cols, " values per frame, the model expects ",
                c.input_dim);
    EMBER_CHECK(U > 0, "features have ", features.rows, " frames: with right_context_length ", c.right_context_length,
                " and time_reduction_stride ", c.time_reduction_stride, " that leaves no frame to transcribe");
    EMBER_CHECK(out.rows == U && out.cols == c.encoding_dim, "transcribe: output must be (", U, ", ", c.encoding_dim,
                ")");

    const int64_t reduced_rows = U + len.right_context;
    const EmformerLayerShape shape = max_layer_shape(c, false, U);
    Arena sizing = Arena::counting();
    allocate_transcribe_buffers(sizing, c, shape, reduced_rows);
    Arena arena(sizing.used());
    const TranscribeBuffers b = allocate_transcribe_buffers(arena, c, shape, reduced_rows);

    project_and_reduce(c, w.input_linear, features.rows_slice(0, reduced_rows * c.time_reduction_stride), b.reduced);

    // _EmformerImpl._gen_right_context: block i is the first right-context
    // frames after segment i; the last block is the real right context.
    const int64_t R = shape.right_context_rows, num_segments = R / std::max<int64_t>(len.right_context, 1);
    for (int64_t i = 0; len.right_context > 0 && i < num_segments; ++i) {
        const int64_t from = (i + 1 < num_segments) ? (i + 1) * len.segment : U;
        ops::copy(b.reduced.rows_slice(from, len.right_context), b.frames.rows_slice(i * len.right_context, len.right_context));
    }
    ops::copy(b.reduced.rows_slice(0, U), b.frames.rows_slice(R, U));

    // The first layer's memory: segment means of the input utterance, the last
    // one dropped (memory_op(utterance)[:-1]).
    const int64_t S = shape.summary_rows, M = shape.memory_rows;
    if (S > 0) ops::segment_means(b.frames.rows_slice(R, U), len.segment, b.memory_a);
    Tensor memory = b.memory_a, next_memory = b.memory_b;
    const Tensor no_left_context = b.layer.gathered.rows_slice(0, 0);
    for (const EmformerLayerWeights& layer : w.layers) {
        emformer_layer(layer, c, shape, b.layer, b.frames, memory.rows_slice(0, M), no_left_context, next_memory);
        std::swap(memory, next_memory);
    }
    project_output(w, b.frames.rows_slice(R, U), out);
}

int64_t chunk_input_frames(const EmformerRnntConfig& c) { return c.segment_length + c.right_context_length; }

int64_t chunk_output_rows(const EmformerRnntConfig& c) { return c.segment_length / c.time_reduction_stride; }

namespace {

// Every tensor of a stream, in one allocation plan used both to size the
// arena and to carve it.
void allocate_stream(Arena& arena, const EmformerRnntConfig& c, TranscriberStream& s) {
    const int64_t D = c.transformer_dim();
    s.layers.resize(static_cast<size_t>(c.transformer_num_layers));
    for (EmformerLayerState& layer : s.layers) {
        layer.memory = arena.matrix(c.transformer_max_memory_size, D);
        layer.left_context = arena.matrix(c.transformer_left_context_length, 2 * D);
    }
    s.frames = arena.matrix(s.max_shape.right_context_rows + s.max_shape.utterance_rows, D);
    s.memory_in = arena.matrix(1, D);
    s.memory_out = arena.matrix(1, D);
    s.buffers = allocate_layer_buffers(arena, c, s.max_shape);
}

// Appends `rows` to the last `capacity` rows kept in `window` (oldest first),
// which holds `count` valid rows; returns the new count. Mirrors _pack_state,
// which concatenates and keeps the tail.
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

TranscriberStream make_transcriber_stream(const Model& model) {
    const EmformerRnntConfig& c = model.config();
    std::string why;
    if (!streaming_supported(c, &why)) fail(model.file.origin, ": ", why);
    TranscriberStream stream;
    stream.model = &model;
    stream.max_shape = max_layer_shape(c, true, 0);
    Arena sizing = Arena::counting();
    allocate_stream(sizing, c, stream);
    stream.arena = Arena(sizing.used());
    allocate_stream(stream.arena, c, stream);
    return stream;
}

void reset_transcriber_stream(TranscriberStream& stream) {
    stream.memory_count = 0;
    stream.left_context_count = 0;
}

void transcribe_chunk(TranscriberStream& s, const Tensor& chunk, const Tensor& out) {
    const Model& model = *s.model;
    const EmformerRnntConfig& c = model.config();
    const TranscriberWeights& w = model.weights.transcriber;
    const Lengths len = emformer_lengths(c);
    EMBER_CHECK(chunk.rows == chunk_input_frames(c) && chunk.cols == c.input_dim, "chunk must be (",
                chunk_input_frames(c), ", ", c.input_dim, "), got (", chunk.rows, ", ", chunk.cols, ")");
    EMBER_CHECK(out.rows == len.segment && out.cols == c.encoding_dim, "chunk output must be (", len.segment, ", ",
                c.encoding_dim, ")");

    // frames = [right context; utterance] after input linear and time reduction.
    const int64_t R = len.right_context, U = len.segment;
    project_and_reduce(c, w.input_linear, chunk.rows_slice(c.segment_length, c.right_context_length),
                       s.frames.rows_slice(0, R));
    project_and_reduce(c, w.input_linear, chunk.rows_slice(0, c.segment_length), s.frames.rows_slice(R, U));

    EmformerLayerShape shape = s.max_shape;
    shape.memory_rows = s.memory_count;
    shape.left_context_rows = s.left_context_count;
    const bool use_memory = shape.summary_rows > 0;
    // The first layer's memory vector is the mean of the chunk's input utterance (_EmformerImpl.infer).
    if (use_memory) ops::segment_means(s.frames.rows_slice(R, U), U, s.memory_in);
    const Tensor no_memory = s.memory_out.rows_slice(0, 0);

    for (size_t i = 0; i < s.layers.size(); ++i) {
        EmformerLayerState& state = s.layers[i];
        emformer_layer(w.layers[i], c, shape, s.buffers, s.frames, state.memory.rows_slice(0, shape.memory_rows),
                       state.left_context.rows_slice(0, shape.left_context_rows),
                       use_memory ? s.memory_out : no_memory);
        // _pack_state: the memory entering this layer and the utterance keys
        // and values join the layer's state for the next chunk.
        if (use_memory) push_rows(state.memory, shape.memory_rows, s.memory_in);
        const Tensor utterance_key_value = s.buffers.key_value.rows_slice(shape.memory_rows + R, U);
        push_rows(state.left_context, shape.left_context_rows, utterance_key_value);
        if (use_memory) std::swap(s.memory_in, s.memory_out);
    }
    s.memory_count = std::min(s.memory_count + 1, c.transformer_max_memory_size);
    s.left_context_count = std::min(s.left_context_count + U, c.transformer_left_context_length);
    project_output(w, s.frames.rows_slice(R, U), out);
}

}  // namespace ember
