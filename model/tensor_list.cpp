#include "model/tensor_list.h"

#include <sstream>

#include "engine/error.h"

namespace ember {

namespace {

void add_linear(std::vector<TensorSpec>& list, const std::string& prefix, int64_t in, int64_t out,
                bool bias) {
    list.push_back({prefix + ".weight", {out, in}, true});
    if (bias) list.push_back({prefix + ".bias", {out}});
}

void add_layer_norm(std::vector<TensorSpec>& list, const std::string& prefix, int64_t dim) {
    list.push_back({prefix + ".weight", {dim}});
    list.push_back({prefix + ".bias", {dim}});
}

}  // namespace

// Mirrors the module tree built by emformer_rnnt_model (models/rnnt.py) and
// Emformer (models/emformer.py), in state_dict order.
std::vector<TensorSpec> emformer_rnnt_tensors(const EmformerRnntConfig& c) {
    std::vector<TensorSpec> list;
    const int64_t d = c.transformer_dim();
    add_linear(list, "transcriber.input_linear", c.input_dim, c.time_reduction_input_dim, false);
    for (int64_t i = 0; i < c.transformer_num_layers; ++i) {
        const std::string layer = "transcriber.transformer.emformer_layers." + std::to_string(i);
        add_linear(list, layer + ".attention.emb_to_key_value", d, 2 * d, true);
        add_linear(list, layer + ".attention.emb_to_query", d, d, true);
        add_linear(list, layer + ".attention.out_proj", d, d, true);
        add_layer_norm(list, layer + ".pos_ff.0", d);
        add_linear(list, layer + ".pos_ff.1", d, c.transformer_ffn_dim, true);
        add_linear(list, layer + ".pos_ff.4", c.transformer_ffn_dim, d, true);
        add_layer_norm(list, layer + ".layer_norm_input", d);
        add_layer_norm(list, layer + ".layer_norm_output", d);
    }
    add_linear(list, "transcriber.output_linear", d, c.encoding_dim, true);
    add_layer_norm(list, "transcriber.layer_norm", c.encoding_dim);

    const int64_t h = c.symbol_embedding_dim;  // lstm_hidden_dim == symbol_embedding_dim
    list.push_back({"predictor.embedding.weight", {c.num_symbols, h}});
    add_layer_norm(list, "predictor.input_layer_norm", h);
    for (int64_t i = 0; i < c.num_lstm_layers; ++i) {
        const std::string layer = "predictor.lstm_layers." + std::to_string(i);
        add_linear(list, layer + ".x2g", h, 4 * h, !c.lstm_layer_norm);
        add_linear(list, layer + ".p2g", h, 4 * h, false);
        if (c.lstm_layer_norm) {
            add_layer_norm(list, layer + ".c_norm", h);
            add_layer_norm(list, layer + ".g_norm", 4 * h);
        }
    }
    add_linear(list, "predictor.linear", h, c.encoding_dim, true);
    add_layer_norm(list, "predictor.output_layer_norm", c.encoding_dim);
    add_linear(list, "joiner.linear", c.encoding_dim, c.num_symbols, true);
    return list;
}

std::string shape_string(const std::vector<int64_t>& shape) {
    std::ostringstream out;
    out << "[";
    for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
    out << "]";
    return out.str();
}

}  // namespace ember

namespace ember {

void check_tensor_shapes(const std::vector<TensorSpec>& expected,
                         const std::map<std::string, std::vector<int64_t>>& provided,
                         const std::string& origin) {
    std::ostringstream problems;
    int count = 0;
    auto report = [&](const std::string& line) {
        if (count++ < 20) problems << "\n  " << line;
    };
    std::map<std::string, bool> expected_names;
    for (const auto& spec : expected) {
        expected_names[spec.name] = true;
        auto it = provided.find(spec.name);
        if (it == provided.end())
            report("missing tensor " + spec.name + " " + shape_string(spec.shape));
        else if (it->second != spec.shape)
            report("wrong shape for " + spec.name + ": got " + shape_string(it->second) + ", expected " +
                   shape_string(spec.shape));
    }
    for (const auto& [name, shape] : provided)
        if (!expected_names.count(name)) report("unexpected tensor " + name + " " + shape_string(shape));
    if (count == 0) return;
    if (count > 20) problems << "\n  ... and " << (count - 20) << " more";
    throw Error(origin + ": tensors do not match the config (" + std::to_string(count) + " problem" +
                (count > 1 ? "s" : "") + "):" + problems.str());
}

}  // namespace ember
