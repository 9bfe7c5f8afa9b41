// The transcription network (torchaudio models/rnnt.py, _EmformerEncoder):
// input linear -> time reduction -> Emformer -> output linear -> layer norm,
// non-streaming (RNNT.transcribe) and streaming (RNNT.transcribe_streaming),
// batch 1.
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

// The state transcribe_streaming carries for one Emformer layer.
struct EmformerLayerState {
    Tensor memory;        // (max_memory_size, D): the memory vectors of earlier chunks, oldest first
    Tensor left_context;  // (left_context_length, 2D): keys | values of the latest utterance frames
};

// One stream's transcriber state and all its scratch, allocated once when the
// stream is made: transcribe_chunk does not touch the heap.
struct TranscriberStream {
    const Model* model = nullptr;
    Arena arena;
    std::vector<EmformerLayerState> layers;
    int64_t memory_count = 0;        // valid rows of every layer's memory
    int64_t left_context_count = 0;  // valid rows of every layer's left context
    EmformerLayerShape max_shape;
    EmformerLayerBuffers buffers;
    Tensor frames;       // (R + U, D): [right context; utterance] of the chunk
    Tensor memory_in;    // (1, D): the memory vector entering the current layer
    Tensor memory_out;   // (1, D): the one it produces
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

}  // namespace ember
