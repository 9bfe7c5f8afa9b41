// One Emformer layer (torchaudio models/emformer.py, _EmformerLayer and
// _EmformerAttention), shared by the non-streaming pass (`forward`, with the
// block attention mask of _EmformerImpl._gen_attention_mask) and the
// streaming one (`infer`, with left-context keys and values carried over).
#pragma once

#include "engine/arena.h"
#include "engine/tensor.h"
#include "model/config.h"
#include "model/weights.h"

namespace ember {

// The sizes of one layer call, in Emformer frames (after time reduction).
struct EmformerLayerShape {
    bool streaming = false;
    int64_t right_context_rows = 0;  // R: right context frames (all blocks, non-streaming)
    int64_t utterance_rows = 0;      // U
    int64_t summary_rows = 0;        // S: one per segment when memory is used, else 0
    int64_t memory_rows = 0;         // M: memory vectors attended
    int64_t left_context_rows = 0;   // L: streaming only, keys/values carried from earlier chunks
};

// The largest shapes a layer will see: non-streaming for `utterance_rows`
// Emformer frames, or one streaming chunk with full memory and left context.
EmformerLayerShape max_layer_shape(const EmformerRnntConfig& config, bool streaming, int64_t utterance_rows);

// Scratch for one layer call, reused by every layer. D = transformer_dim().
struct EmformerLayerBuffers {
    Tensor stack;       // (M + R + U + S, D): [memory; ln(right context); ln(utterance); summary]
    Tensor query;       // (R + U + S, D)
    Tensor key_value;   // (M + R + U + L, 2D): keys in columns [0, D), values in [D, 2D);
                        // streaming rows are [memory; right context; utterance; left context]
    Tensor attention;   // (R + U + S, D)
    Tensor projected;   // (R + U + S, D): out_proj output
    Tensor ffn_input;   // (R + U, D)
    Tensor ffn_hidden;  // (R + U, ffn_dim)
    Tensor scores;      // attention probabilities of one head
    Tensor gathered;    // non-streaming: the key/value rows one segment may see
};

EmformerLayerBuffers allocate_layer_buffers(Arena& arena, const EmformerRnntConfig& config,
                                            const EmformerLayerShape& max_shape);

// Runs one layer in place on x (R + U, D) = [right context; utterance].
// memory (M, D) is what the layer attends to; memory_out (S, D) receives the
// layer's new memory (summary outputs after tanh or clamp). In streaming mode
// left_context (L, 2D) holds the carried keys and values; afterwards rows
// [M + R, M + R + U) of buffers.key_value hold this chunk's utterance keys and
// values, for the caller to carry on.
void emformer_layer(const EmformerLayerWeights& weights, const EmformerRnntConfig& config,
                    const EmformerLayerShape& shape, const EmformerLayerBuffers& buffers, const Tensor& x,
                    const Tensor& memory, const Tensor& left_context, const Tensor& memory_out);

}  // namespace ember
