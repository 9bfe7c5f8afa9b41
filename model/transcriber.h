// The transcription network (torchaudio models/rnnt.py, _EmformerEncoder):
// input linear -> time reduction -> Emformer -> output linear -> layer norm,
// non-streaming (RNNT.transcribe) and streaming (RNNT.transcribe_streaming),
// the latter for one stream or a batch of streams advanced together.
#pragma once

#include <vector>

#include "engine/arena.h"
#include "model/emformer_layer.h"
#include "model/model.h"

namespace ember {

// Output frames of the non-streaming transcriber for `input_frames` feature
// frames (right context included): T / stride - right_context / stride.
int64_t transcribe_output_rows(const EmformerRnntConfig& config, int64_t input_frames);

// RNNT.transcribe: features (T, input_dim), the last right_context_length
// frames being the right context -> out (transcribe_output_rows(T), encoding_dim).
// Allocates its scratch for this call.
void transcribe(const Model& model, const Tensor& features, const Tensor& out);

// Scratch for advancing up to `capacity` streams of one model by a chunk
// each in one encoder call (transcribe_chunks), allocated once: a call does
// not touch the heap. D = transformer_dim(), R + U = right context and
// utterance frames of a chunk after time reduction.
struct TranscriberBatch {
    const Model* model = nullptr;
    int64_t capacity = 0;
    Arena arena;
    EmformerLayerBuffers buffers;
    Tensor frames;      // (capacity (R + U), D): each stream's [right context; utterance], stream after stream
    Tensor memory_in;   // (capacity, D): each stream's memory vector entering the current layer
    Tensor memory_out;  // (capacity, D): the one it produces
    Tensor encoded;     // (capacity (R + U), encoding_dim): output linear and layer norm of frames
    std::vector<EmformerLayerState*> layer_states;  // (capacity): the streams' states of the current layer
};

// Throws ember::Error when the model's config cannot stream (see
// streaming_supported) or capacity < 1.
TranscriberBatch make_transcriber_batch(const Model& model, int64_t capacity);

// One stream's transcriber state (every layer's memory and left context),
// allocated once when the stream is made, and its own scratch for
// transcribe_chunk: a batch of one.
struct TranscriberStream {
    const Model* model = nullptr;
    Arena arena;
    std::vector<EmformerLayerState> layers;
    TranscriberBatch scratch;
};

// Input frames of one chunk (segment + right context) and output frames it yields.
int64_t chunk_input_frames(const EmformerRnntConfig& config);
int64_t chunk_output_rows(const EmformerRnntConfig& config);

// Throws ember::Error when the model's config cannot stream (see streaming_supported).
TranscriberStream make_transcriber_stream(const Model& model);
void reset_transcriber_stream(TranscriberStream& stream);

// transcribe_streaming on one chunk: chunk (chunk_input_frames, input_dim) ->
// out (chunk_output_rows, encoding_dim), state carried in `stream`.
void transcribe_chunk(TranscriberStream& stream, const Tensor& chunk, const Tensor& out);

// transcribe_chunk for `count` streams at once, count <= batch.capacity:
// chunks[i] -> outs[i] with streams[i]'s state. Every linear layer runs once
// over all the streams' frames (its weights read once), attention per
// stream; each stream's output is bit-identical to transcribe_chunk on it
// alone, whichever streams share the call. The streams use batch's model and
// are distinct.
void transcribe_chunks(TranscriberBatch& batch, TranscriberStream* const* streams, const Tensor* chunks,
                       const Tensor* outs, int64_t count);

}  // namespace ember
