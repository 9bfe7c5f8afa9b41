#include "model/config.h"

#include "engine/error.h"

namespace ember {

EmformerRnntConfig emformer_rnnt_base_config(int64_t num_symbols) {
    EmformerRnntConfig config;  // the defaults are emformer_rnnt_base's (models/rnnt.py)
    config.num_symbols = num_symbols;
    return config;
}

void validate_config(const EmformerRnntConfig& c) {
    auto positive = [](const char* name, int64_t value) {
        if (value <= 0) fail("config: ", name, " must be positive, got ", value);
    };
    auto non_negative = [](const char* name, int64_t value) {
        if (value < 0) fail("config: ", name, " must not be negative, got ", value);
    };
    // Bounds keep every derived size (dims multiplied together) far from overflow.
    auto bounded = [](const char* name, int64_t value, int64_t max) {
        if (value > max) fail("config: ", name, " = ", value, " is larger than ember supports (", max, ")");
    };
    positive("input_dim", c.input_dim);
    positive("encoding_dim", c.encoding_dim);
    positive("num_symbols", c.num_symbols);
    positive("segment_length", c.segment_length);
    non_negative("right_context_length", c.right_context_length);
    positive("time_reduction_input_dim", c.time_reduction_input_dim);
    positive("time_reduction_stride", c.time_reduction_stride);
    positive("transformer_num_heads", c.transformer_num_heads);
    positive("transformer_ffn_dim", c.transformer_ffn_dim);
    positive("transformer_num_layers", c.transformer_num_layers);
    non_negative("transformer_left_context_length", c.transformer_left_context_length);
    non_negative("transformer_max_memory_size", c.transformer_max_memory_size);
    positive("symbol_embedding_dim", c.symbol_embedding_dim);
    positive("num_lstm_layers", c.num_lstm_layers);
    const int64_t dim_limit = 1 << 16, count_limit = 1 << 12;
    bounded("input_dim", c.input_dim, dim_limit);
    bounded("encoding_dim", c.encoding_dim, dim_limit);
    bounded("num_symbols", c.num_symbols, 1 << 20);
    bounded("segment_length", c.segment_length, count_limit);
    bounded("right_context_length", c.right_context_length, count_limit);
    bounded("time_reduction_input_dim", c.time_reduction_input_dim, dim_limit);
    bounded("time_reduction_stride", c.time_reduction_stride, 64);
    bounded("transformer_ffn_dim", c.transformer_ffn_dim, dim_limit);
    bounded("transformer_num_layers", c.transformer_num_layers, count_limit);
    bounded("transformer_left_context_length", c.transformer_left_context_length, count_limit);
    bounded("transformer_max_memory_size", c.transformer_max_memory_size, count_limit);
    bounded("symbol_embedding_dim", c.symbol_embedding_dim, dim_limit);
    bounded("num_lstm_layers", c.num_lstm_layers, count_limit);
    if (c.transformer_dim() > dim_limit)
        fail("config: time_reduction_input_dim x time_reduction_stride = ", c.transformer_dim(),
             " is larger than ember supports (", dim_limit, ")");
    if (c.transformer_dim() % c.transformer_num_heads != 0)
        fail("config: transformer_num_heads (", c.transformer_num_heads,
             ") must divide the Emformer width time_reduction_input_dim x time_reduction_stride (",
             c.transformer_dim(), ")");
    if (c.segment_length < c.time_reduction_stride)
        fail("config: segment_length (", c.segment_length, ") must be at least time_reduction_stride (",
             c.time_reduction_stride, "): the Emformer segment would be empty");
    if (c.transformer_activation != "relu" && c.transformer_activation != "gelu" &&
        c.transformer_activation != "silu")
        fail("config: transformer_activation must be relu, gelu or silu, got '", c.transformer_activation, "'");
    const std::string& s = c.transformer_weight_init_scale_strategy;
    if (!s.empty() && s != "depthwise" && s != "constant")
        fail("config: transformer_weight_init_scale_strategy must be depthwise, constant or null, got '", s, "'");
    if (!(c.lstm_layer_norm_epsilon > 0.0))
        fail("config: lstm_layer_norm_epsilon must be positive, got ", c.lstm_layer_norm_epsilon);
    if (!(c.transformer_dropout >= 0.0 && c.transformer_dropout <= 1.0))
        fail("config: transformer_dropout must be in [0, 1], got ", c.transformer_dropout);
    if (!(c.lstm_dropout >= 0.0 && c.lstm_dropout <= 1.0))
        fail("config: lstm_dropout must be in [0, 1], got ", c.lstm_dropout);
}

bool streaming_supported(const EmformerRnntConfig& c, std::string* why) {
    // Emformer.infer checks its input holds exactly segment + right context
    // frames after time reduction (models/emformer.py, _EmformerImpl.infer),
    // which only holds when both are multiples of the stride.
    if (c.segment_length % c.time_reduction_stride != 0 || c.right_context_length % c.time_reduction_stride != 0) {
        if (why)
            *why = "streaming needs segment_length (" + std::to_string(c.segment_length) +
                   ") and right_context_length (" + std::to_string(c.right_context_length) +
                   ") to be multiples of time_reduction_stride (" + std::to_string(c.time_reduction_stride) +
                   "), as torchaudio's Emformer.infer does; use non-streaming mode for this model";
        return false;
    }
    return true;
}

}  // namespace ember
