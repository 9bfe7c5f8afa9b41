// One Emformer layer (torchaudio models/emformer.py, _EmformerLayer and
// _EmformerAttention), shared by the non-streaming pass (`forward`, with the
// block attention mask of _EmformerImpl._gen_attention_mask) and the
// streaming one (`infer`, with left-context keys and values carried over),
// which advances a batch of streams at once.
//
// A batch stacks its streams' frames so that every projection (query,
// key/value, out_proj, feed-forward) is one matrix product over all of them:
// the weights are read once per layer whatever the batch size. Attention
// stays per stream, over the stream's own memory and left context. Each
// output row of a product depends on its input row alone, so a stream's
// results are the same in a batch of any size.
#pragma once

#include "engine/arena.h"
#include "engine/tensor.h"
#include "model/config.h"
#include "model/weights.h"

namespace ember {

// The sizes of one layer call for one stream, in Emformer frames (after time
// reduction).
struct EmformerLayerShape {
    bool streaming = false;
    int64_t right_context_rows = 0;  // R: right context frames (all blocks, non-streaming)
    int64_t utterance_rows = 0;      // U
    int64_t summary_rows = 0;        // S: one per segment when memory is used, else 0
    int64_t memory_rows = 0;         // M: memory vectors attended (streaming: at most)
    int64_t left_context_rows = 0;   // L: streaming only, keys/values carried from earlier chunks (at most)
};

// The largest shapes a layer will see: non-streaming for `utterance_rows`
// Emformer frames, or one streaming chunk with full memory and left context.
EmformerLayerShape max_layer_shape(const EmformerRnntConfig& config, bool streaming, int64_t utterance_rows);

// What one layer carries for one stream from chunk to chunk (_EmformerLayer's
// state: _init_state, _unpack_state, _pack_state).
struct EmformerLayerState {
    Tensor memory;                  // (max_memory_size, D): memory vectors of earlier chunks, oldest first
    Tensor left_context;            // (left_context_length, 2D): keys | values of the latest utterance frames
    int64_t memory_rows = 0;        // valid rows of memory
    int64_t left_context_rows = 0;  // valid rows of left_context
};

// Scratch for one layer call of up to `streams` streams, reused by every
// layer. D = transformer_dim(); n streams, M_all = their memory rows together.
struct EmformerLayerBuffers {
    Tensor stack;       // (M_all + n(R + U) + nS, D): [memories; ln(frames); summaries]
    Tensor query;       // (n(R + U) + nS, D): queries of [frames; summaries]
    Tensor key_value;   // (M_all + n(R + U), 2D): keys in columns [0, D), values in [D, 2D),
                        // of [memories; frames]
    Tensor attention;   // (n(R + U) + nS, D)
    Tensor projected;   // (n(R + U) + nS, D): out_proj output
    Tensor ffn_input;   // (n(R + U), D)
    Tensor ffn_hidden;  // (n(R + U), ffn_dim)
    Tensor scores;      // attention probabilities of one head
};

EmformerLayerBuffers allocate_layer_buffers(Arena& arena, const EmformerRnntConfig& config,
                                            const EmformerLayerShape& max_shape, int64_t streams);

// _EmformerLayer.forward on one utterance: x (R + U, D) = [right context
// blocks; utterance] in place; memory (M, D) is what the layer attends to;
// memory_out (S, D) receives the layer's new memory (summary outputs after
// tanh or clamp).
void emformer_layer_forward(const EmformerLayerWeights& weights, const EmformerRnntConfig& config,
                            const EmformerLayerShape& shape, const EmformerLayerBuffers& buffers, const Tensor& x,
                            const Tensor& memory, const Tensor& memory_out);

// _EmformerLayer.infer on one chunk of each of `streams` streams: x (n(R + U), D)
// holds each stream's [right context; utterance], stream after stream, and is
// updated in place. states[i] is stream i's state of this layer: read, then
// updated as _pack_state does with memory_in row i (the memory vector
// entering the layer) and the chunk's utterance keys and values. memory_out
// (n, D) receives each stream's new memory vector. Without memory
// (max_memory_size 0) memory_in and memory_out have no rows. A stream must
// appear once.
void emformer_layer_infer(const EmformerLayerWeights& weights, const EmformerRnntConfig& config,
                          const EmformerLayerBuffers& buffers, const Tensor& x, EmformerLayerState* const* states,
                          int64_t streams, const Tensor& memory_in, const Tensor& memory_out);

}  // namespace ember
