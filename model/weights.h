// The model's weights as plain structs of views into the mmap'd .ember file,
// each field named after the torchaudio parameter it holds. Nothing here is
// copied; a Model's weights live as long as the Model.
#pragma once

#include <string>
#include <vector>

#include "engine/ember_file.h"
#include "engine/ops.h"
#include "engine/tensor.h"
#include "model/config.h"

namespace ember {

// One _EmformerLayer (models/emformer.py). D = transformer_dim().
struct EmformerLayerWeights {
    LinearWeights attention_emb_to_key_value;  // (2D, D): key rows [0, D), value rows [D, 2D)
    LinearWeights attention_emb_to_query;      // (D, D)
    LinearWeights attention_out_proj;          // (D, D)
    LayerNormWeights pos_ff_layer_norm;        // pos_ff.0, (D)
    LinearWeights pos_ff_linear_in;            // pos_ff.1, (ffn_dim, D)
    LinearWeights pos_ff_linear_out;           // pos_ff.4, (D, ffn_dim)
    LayerNormWeights layer_norm_input;         // (D)
    LayerNormWeights layer_norm_output;        // (D)
    ops::Activation activation;                // transformer_activation, parsed once at load
};

// _EmformerEncoder (models/rnnt.py).
struct TranscriberWeights {
    LinearWeights input_linear;                // (time_reduction_input_dim, input_dim), no bias
    std::vector<EmformerLayerWeights> layers;  // transformer.emformer_layers
    LinearWeights output_linear;               // (encoding_dim, D)
    LayerNormWeights layer_norm;               // (encoding_dim)
};

// One _CustomLSTM. H = symbol_embedding_dim.
struct LstmLayerWeights {
    LinearWeights x2g;          // (4H, H); bias only without layer norm
    LinearWeights p2g;          // (4H, H), no bias
    LayerNormWeights c_norm;    // (H), null without layer norm
    LayerNormWeights g_norm;    // (4H), null without layer norm
};

// _Predictor.
struct PredictorWeights {
    const float* embedding = nullptr;      // (num_symbols, H)
    LayerNormWeights input_layer_norm;     // (H)
    std::vector<LstmLayerWeights> lstm_layers;
    LinearWeights linear;                  // (encoding_dim, H)
    LayerNormWeights output_layer_norm;    // (encoding_dim)
};

// _Joiner.
struct JoinerWeights {
    LinearWeights linear;  // (num_symbols, encoding_dim)
};

struct ModelWeights {
    TranscriberWeights transcriber;
    PredictorWeights predictor;
    JoinerWeights joiner;
};

// Points every field at its tensor in `file`, whose tensors have already been
// checked against emformer_rnnt_tensors(config).
ModelWeights bind_weights(const EmformerRnntConfig& config, const EmberFile& file);

}  // namespace ember
