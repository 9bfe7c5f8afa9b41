#include "tools/model_config_json.h"

#include <cmath>
#include <set>

#include "engine/error.h"

namespace ember {

namespace {

struct ConfigReader {
    const JsonValue& object;
    const std::string& origin;
    std::set<std::string> used;

    const JsonValue& get(const std::string& key) {
        used.insert(key);
        auto it = object.object.find(key);
        if (it == object.object.end()) fail(origin, ": config is missing \"", key, "\"");
        return it->second;
    }
    int64_t integer(const std::string& key) {
        const JsonValue& v = get(key);
        if (v.kind != JsonValue::Kind::number || v.number != std::floor(v.number) || std::fabs(v.number) > 1e15)
            fail(origin, ": config \"", key, "\" must be an integer");
        return static_cast<int64_t>(v.number);
    }
    double number(const std::string& key) {
        const JsonValue& v = get(key);
        if (v.kind != JsonValue::Kind::number) fail(origin, ": config \"", key, "\" must be a number");
        return v.number;
    }
    bool boolean(const std::string& key) {
        const JsonValue& v = get(key);
        if (v.kind != JsonValue::Kind::boolean) fail(origin, ": config \"", key, "\" must be true or false");
        return v.boolean;
    }
    std::string string(const std::string& key, bool allow_null) {
        const JsonValue& v = get(key);
        if (allow_null && v.kind == JsonValue::Kind::null) return "";
        if (v.kind != JsonValue::Kind::string)
            fail(origin, ": config \"", key, "\" must be a string", allow_null ? " or null" : "");
        return v.string;
    }
    void reject_unknown_keys() const {
        for (const auto& [key, value] : object.object)
            if (!used.count(key)) fail(origin, ": config has unknown key \"", key, "\"");
    }
};

}  // namespace

EmformerRnntConfig config_from_json(const JsonValue& json, const std::string& origin) {
    if (json.kind != JsonValue::Kind::object) fail(origin, ": config must be a JSON object");
    ConfigReader read{json, origin, {}};
    EmformerRnntConfig c;
    if (json.object.count("preset")) {
        const std::string preset = read.string("preset", false);
        if (preset != "base") fail(origin, ": unknown preset \"", preset, "\" (the only preset is \"base\")");
        c = emformer_rnnt_base_config(read.integer("num_symbols"));
    } else {
        c.input_dim = read.integer("input_dim");
        c.encoding_dim = read.integer("encoding_dim");
        c.num_symbols = read.integer("num_symbols");
        c.segment_length = read.integer("segment_length");
        c.right_context_length = read.integer("right_context_length");
        c.time_reduction_input_dim = read.integer("time_reduction_input_dim");
        c.time_reduction_stride = read.integer("time_reduction_stride");
        c.transformer_num_heads = read.integer("transformer_num_heads");
        c.transformer_ffn_dim = read.integer("transformer_ffn_dim");
        c.transformer_num_layers = read.integer("transformer_num_layers");
        c.transformer_dropout = read.number("transformer_dropout");
        c.transformer_activation = read.string("transformer_activation", false);
        c.transformer_left_context_length = read.integer("transformer_left_context_length");
        c.transformer_max_memory_size = read.integer("transformer_max_memory_size");
        c.transformer_weight_init_scale_strategy = read.string("transformer_weight_init_scale_strategy", true);
        c.transformer_tanh_on_mem = read.boolean("transformer_tanh_on_mem");
        c.symbol_embedding_dim = read.integer("symbol_embedding_dim");
        c.num_lstm_layers = read.integer("num_lstm_layers");
        c.lstm_layer_norm = read.boolean("lstm_layer_norm");
        c.lstm_layer_norm_epsilon = read.number("lstm_layer_norm_epsilon");
        c.lstm_dropout = read.number("lstm_dropout");
    }
    read.reject_unknown_keys();
    try {
        validate_config(c);
    } catch (const Error& error) {
        fail(origin, ": ", error.what());
    }
    return c;
}

}  // namespace ember
