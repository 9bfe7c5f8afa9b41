#include "model/transcriber.h"

#include <algorithm>
#include <string>

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
    b.layer = allocate_layer_buffers(arena, c, shape, 1);
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
    for (const EmformerLayerWeights& layer : w.layers) {
        emformer_layer_forward(layer, c, shape, b.layer, b.frames, memory.rows_slice(0, M), next_memory);
        std::swap(memory, next_memory);
    }
    project_output(w, b.frames.rows_slice(R, U), out);
}

int64_t chunk_input_frames(const EmformerRnntConfig& c) { return c.segment_length + c.right_context_length; }

int64_t chunk_output_rows(const EmformerRnntConfig& c) { return c.segment_length / c.time_reduction_stride; }

namespace {

// Every tensor of a batch, in one allocation plan used both to size the arena
// and to carve it.
void allocate_batch(Arena& arena, const EmformerRnntConfig& c, TranscriberBatch& b) {
    const EmformerLayerShape shape = max_layer_shape(c, true, 0);
    const int64_t D = c.transformer_dim(), frames = b.capacity * (shape.right_context_rows + shape.utterance_rows);
    b.buffers = allocate_layer_buffers(arena, c, shape, b.capacity);
    b.frames = arena.matrix(frames, D);
    b.memory_in = arena.matrix(b.capacity, D);
    b.memory_out = arena.matrix(b.capacity, D);
    b.encoded = arena.matrix(frames, c.encoding_dim);
}

void allocate_layer_states(Arena& arena, const EmformerRnntConfig& c, std::vector<EmformerLayerState>& layers) {
    const int64_t D = c.transformer_dim();
    layers.resize(static_cast<size_t>(c.transformer_num_layers));
    for (EmformerLayerState& layer : layers) {
        layer.memory = arena.matrix(c.transformer_max_memory_size, D);
        layer.left_context = arena.matrix(c.transformer_left_context_length, 2 * D);
    }
}

void check_streaming(const Model& model) {
    std::string why;
    if (!streaming_supported(model.config(), &why)) fail(model.file.origin, ": ", why);
}

void check_batch(const TranscriberBatch& b, TranscriberStream* const* streams, const Tensor* chunks,
                 const Tensor* outs, int64_t count) {
    const EmformerRnntConfig& c = b.model->config();
    EMBER_CHECK(count >= 1 && count <= b.capacity, "transcribe_chunks: ", count, " streams for a batch of at most ",
                b.capacity);
    for (int64_t i = 0; i < count; ++i) {
        EMBER_CHECK(streams[i]->model == b.model, "transcribe_chunks: stream ", i, " runs another model");
        for (int64_t j = 0; j < i; ++j)
            EMBER_CHECK(streams[j] != streams[i], "transcribe_chunks: stream ", i, " is stream ", j, " again");
        EMBER_CHECK(chunks[i].rows == chunk_input_frames(c) && chunks[i].cols == c.input_dim, "chunk ", i,
                    " must be (", chunk_input_frames(c), ", ", c.input_dim, "), got (", chunks[i].rows, ", ",
                    chunks[i].cols, ")");
        EMBER_CHECK(outs[i].rows == chunk_output_rows(c) && outs[i].cols == c.encoding_dim, "chunk output ", i,
                    " must be (", chunk_output_rows(c), ", ", c.encoding_dim, ")");
    }
}

}  // namespace

TranscriberBatch make_transcriber_batch(const Model& model, int64_t capacity) {
    check_streaming(model);
    EMBER_CHECK(capacity >= 1, "a transcriber batch holds at least one stream, not ", capacity);
    TranscriberBatch batch;
    batch.model = &model;
    batch.capacity = capacity;
    Arena sizing = Arena::counting();
    allocate_batch(sizing, model.config(), batch);
    batch.arena = Arena(sizing.used());
    allocate_batch(batch.arena, model.config(), batch);
    batch.layer_states.resize(static_cast<size_t>(capacity));
    return batch;
}

TranscriberStream make_transcriber_stream(const Model& model) {
    TranscriberStream stream;
    stream.model = &model;
    stream.scratch = make_transcriber_batch(model, 1);
    Arena sizing = Arena::counting();
    allocate_layer_states(sizing, model.config(), stream.layers);
    stream.arena = Arena(sizing.used());
    allocate_layer_states(stream.arena, model.config(), stream.layers);
    return stream;
}

void reset_transcriber_stream(TranscriberStream& stream) {
    for (EmformerLayerState& layer : stream.layers) {
        layer.memory_rows = 0;
        layer.left_context_rows = 0;
    }
}

void transcribe_chunk(TranscriberStream& stream, const Tensor& chunk, const Tensor& out) {
    TranscriberStream* const streams[] = {&stream};
    transcribe_chunks(stream.scratch, streams, &chunk, &out, 1);
}

void transcribe_chunks(TranscriberBatch& b, TranscriberStream* const* streams, const Tensor* chunks,
                       const Tensor* outs, int64_t count) {
    check_batch(b, streams, chunks, outs, count);
    const Model& model = *b.model;
    const EmformerRnntConfig& c = model.config();
    const TranscriberWeights& w = model.weights.transcriber;
    const Lengths len = emformer_lengths(c);
    const int64_t R = len.right_context, U = len.segment, F = R + U;
    const bool use_memory = c.transformer_max_memory_size > 0;

    // Each stream's [right context; utterance] after input linear and time
    // reduction, and its first layer's memory vector: the mean of the chunk's
    // input utterance (_EmformerImpl.infer).
    const Tensor frames = b.frames.rows_slice(0, count * F);
    Tensor memory_in = b.memory_in.rows_slice(0, use_memory ? count : 0);
    Tensor memory_out = b.memory_out.rows_slice(0, use_memory ? count : 0);
    for (int64_t i = 0; i < count; ++i) {
        const Tensor stream_frames = frames.rows_slice(i * F, F);
        project_and_reduce(c, w.input_linear, chunks[i].rows_slice(c.segment_length, c.right_context_length),
                           stream_frames.rows_slice(0, R));
        project_and_reduce(c, w.input_linear, chunks[i].rows_slice(0, c.segment_length),
                           stream_frames.rows_slice(R, U));
        if (use_memory) ops::segment_means(stream_frames.rows_slice(R, U), U, memory_in.rows_slice(i, 1));
    }

    for (size_t layer = 0; layer < w.layers.size(); ++layer) {
        for (int64_t i = 0; i < count; ++i) b.layer_states[static_cast<size_t>(i)] = &streams[i]->layers[layer];
        emformer_layer_infer(w.layers[layer], c, b.buffers, frames, b.layer_states.data(), count, memory_in,
                             memory_out);
        std::swap(memory_in, memory_out);
    }

    // Right context rows ride along through the output projection, so that
    // its weights are read once for every stream; only the utterance is kept.
    const Tensor encoded = b.encoded.rows_slice(0, count * F);
    project_output(w, frames, encoded);
    for (int64_t i = 0; i < count; ++i) ops::copy(encoded.rows_slice(i * F + R, U), outs[i]);
}

}  // namespace ember
