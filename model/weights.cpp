#include "model/weights.h"

namespace ember {

namespace {

struct Binder {
    const EmberFile& file;

    const TensorInfo& find(const std::string& name) const {
        const TensorInfo* info = file.find_tensor(name);
        EMBER_CHECK(info, file.origin, ": tensor ", name, " is missing");
        return *info;
    }
    // Any tensor but a linear weight: row-major float32.
    const TensorInfo& tensor(const std::string& name) const {
        const TensorInfo& info = find(name);
        if (info.layout != TensorLayout::float32)
            fail(file.origin, ": tensor ", name, " is stored as ", tensor_layout_name(info.layout),
                 "; only linear weights may be packed, this one must be float32");
        return info;
    }
    // A linear weight, in rows or in panels.
    LinearWeights linear(const std::string& prefix, bool has_bias) const {
        const TensorInfo& w = find(prefix + ".weight");
        LinearWeights out;
        out.weight = w.data;
        out.packed = w.layout == TensorLayout::float32_panels16;
        out.out_features = w.shape[0];
        out.in_features = w.shape[1];
        out.bias = has_bias ? tensor(prefix + ".bias").data : nullptr;
        return out;
    }
    LayerNormWeights layer_norm(const std::string& prefix) const {
        const TensorInfo& w = tensor(prefix + ".weight");
        return {w.data, tensor(prefix + ".bias").data, w.shape[0]};
    }
};

}  // namespace

ModelWeights bind_weights(const EmformerRnntConfig& config, const EmberFile& file) {
    Binder bind{file};
    ModelWeights weights;
    TranscriberWeights& t = weights.transcriber;
    t.input_linear = bind.linear("transcriber.input_linear", false);
    for (int64_t i = 0; i < config.transformer_num_layers; ++i) {
        const std::string p = "transcriber.transformer.emformer_layers." + std::to_string(i);
        EmformerLayerWeights layer;
        layer.attention_emb_to_key_value = bind.linear(p + ".attention.emb_to_key_value", true);
        layer.attention_emb_to_query = bind.linear(p + ".attention.emb_to_query", true);
        layer.attention_out_proj = bind.linear(p + ".attention.out_proj", true);
        layer.pos_ff_layer_norm = bind.layer_norm(p + ".pos_ff.0");
        layer.pos_ff_linear_in = bind.linear(p + ".pos_ff.1", true);
        layer.pos_ff_linear_out = bind.linear(p + ".pos_ff.4", true);
        layer.layer_norm_input = bind.layer_norm(p + ".layer_norm_input");
        layer.layer_norm_output = bind.layer_norm(p + ".layer_norm_output");
        layer.activation = ops::parse_activation(config.transformer_activation);
        t.layers.push_back(layer);
    }
    t.output_linear = bind.linear("transcriber.output_linear", true);
    t.layer_norm = bind.layer_norm("transcriber.layer_norm");

    PredictorWeights& p = weights.predictor;
    p.embedding = bind.tensor("predictor.embedding.weight").data;
    p.input_layer_norm = bind.layer_norm("predictor.input_layer_norm");
    for (int64_t i = 0; i < config.num_lstm_layers; ++i) {
        const std::string prefix = "predictor.lstm_layers." + std::to_string(i);
        LstmLayerWeights layer;
        layer.x2g = bind.linear(prefix + ".x2g", !config.lstm_layer_norm);
        layer.p2g = bind.linear(prefix + ".p2g", false);
        if (config.lstm_layer_norm) {
            layer.c_norm = bind.layer_norm(prefix + ".c_norm");
            layer.g_norm = bind.layer_norm(prefix + ".g_norm");
        }
        p.lstm_layers.push_back(layer);
    }
    p.linear = bind.linear("predictor.linear", true);
    p.output_layer_norm = bind.layer_norm("predictor.output_layer_norm");
    weights.joiner.linear = bind.linear("joiner.linear", true);
    return weights;
}

}  // namespace ember
