// ember info: what a .ember file holds.
#include <cstdio>

#include "engine/error.h"
#include "model/model.h"
#include "tools/cli.h"
#include "tools/verbs.h"

namespace ember::verbs {

namespace {

// A JSON string: UTF-8 passes through, quotes, backslashes and control
// characters are escaped.
void print_json_string(const std::string& text) {
    std::putchar('"');
    for (const char ch : text) {
        const auto byte = static_cast<unsigned char>(ch);
        if (byte == '"' || byte == '\\')
            std::printf("\\%c", ch);
        else if (byte < 0x20 || byte == 0x7f)
            std::printf("\\u%04x", byte);
        else
            std::putchar(ch);
    }
    std::putchar('"');
}

void print_pieces_json(const ModelMetadata& m) {
    std::printf("{\"pieces\": [");
    for (size_t i = 0; i < m.vocabulary.size(); ++i) {
        if (i) std::printf(", ");
        print_json_string(m.vocabulary[i]);
    }
    std::printf("], \"types\": [");
    for (size_t i = 0; i < m.vocabulary_types.size(); ++i) std::printf(i ? ", %d" : "%d", m.vocabulary_types[i]);
    std::printf("], \"unk_id\": %lld, \"bos_id\": %lld, \"eos_id\": %lld, \"pad_id\": %lld}\n",
                static_cast<long long>(m.unk_id), static_cast<long long>(m.bos_id), static_cast<long long>(m.eos_id),
                static_cast<long long>(m.pad_id));
}

}  // namespace

int info(const Args& args) {
    const cli::ParsedArgs parsed = cli::parse_args(args, {{"--pieces", false}});
    if (parsed.help) {
        std::fputs("usage: ember info MODEL.ember [--pieces]\n\n"
                   "Prints the model's config, tensor and parameter counts, file size and optional parts.\n\n"
                   "  --pieces   print only the vocabulary, as one JSON object: {\"pieces\": [piece of each\n"
                   "             id], \"types\": [...], \"unk_id\": ..., \"bos_id\": ..., \"eos_id\": ...,\n"
                   "             \"pad_id\": ...} (ids -1 when absent); a diagnostic for tests\n",
                   stdout);
        return 0;
    }
    if (parsed.positionals.size() != 1) throw cli::UsageError("expected one MODEL.ember argument");
    const std::string path = parsed.positionals[0];
    cli::check_input_file(path);
    const Model model = load_model(path);
    const EmformerRnntConfig& c = model.config();
    const ModelMetadata& m = model.metadata;
    if (parsed.switches.count("--pieces")) {
        if (m.vocabulary.empty()) fail(path, ": the model has no vocabulary (convert it with --sentencepiece)");
        print_pieces_json(m);
        return 0;
    }

    int64_t parameters = 0, packed = 0;
    for (const TensorInfo& tensor : model.file.tensors) {
        parameters += tensor.numel();
        packed += tensor.layout == TensorLayout::float32_panels16;
    }
    std::printf("file:            %s\n", path.c_str());
    std::printf("format:          .ember %u.%u\n", model.file.version_major, model.file.version_minor);
    std::printf("file size:       %zu bytes (%.1f MB)\n", model.file.mapping.size(), model.file.mapping.size() / 1e6);
    std::printf("tensors:         %zu (%lld linear weights in panels of 16, the rest row-major float32)\n",
                model.file.tensors.size(), static_cast<long long>(packed));
    std::printf("parameters:      %lld (%.2f M)\n", static_cast<long long>(parameters), parameters / 1e6);
    std::printf("config (emformer_rnnt_model):\n");
    std::printf("  input_dim                              %lld\n", static_cast<long long>(c.input_dim));
    std::printf("  encoding_dim                           %lld\n", static_cast<long long>(c.encoding_dim));
    std::printf("  num_symbols                            %lld\n", static_cast<long long>(c.num_symbols));
    std::printf("  segment_length                         %lld\n", static_cast<long long>(c.segment_length));
    std::printf("  right_context_length                   %lld\n", static_cast<long long>(c.right_context_length));
    std::printf("  time_reduction_input_dim               %lld\n", static_cast<long long>(c.time_reduction_input_dim));
    std::printf("  time_reduction_stride                  %lld\n", static_cast<long long>(c.time_reduction_stride));
    std::printf("  transformer_num_heads                  %lld\n", static_cast<long long>(c.transformer_num_heads));
    std::printf("  transformer_ffn_dim                    %lld\n", static_cast<long long>(c.transformer_ffn_dim));
    std::printf("  transformer_num_layers                 %lld\n", static_cast<long long>(c.transformer_num_layers));
    std::printf("  transformer_dropout                    %g\n", c.transformer_dropout);
    std::printf("  transformer_activation                 %s\n", c.transformer_activation.c_str());
    std::printf("  transformer_left_context_length        %lld\n",
                static_cast<long long>(c.transformer_left_context_length));
    std::printf("  transformer_max_memory_size            %lld\n", static_cast<long long>(c.transformer_max_memory_size));
    std::printf("  transformer_weight_init_scale_strategy %s\n",
                c.transformer_weight_init_scale_strategy.empty() ? "null"
                                                                 : c.transformer_weight_init_scale_strategy.c_str());
    std::printf("  transformer_tanh_on_mem                %s\n", c.transformer_tanh_on_mem ? "true" : "false");
    std::printf("  symbol_embedding_dim                   %lld\n", static_cast<long long>(c.symbol_embedding_dim));
    std::printf("  num_lstm_layers                        %lld\n", static_cast<long long>(c.num_lstm_layers));
    std::printf("  lstm_layer_norm                        %s\n", c.lstm_layer_norm ? "true" : "false");
    std::printf("  lstm_layer_norm_epsilon                %g\n", c.lstm_layer_norm_epsilon);
    std::printf("  lstm_dropout                           %g\n", c.lstm_dropout);
    std::printf("blank:           %lld\n", static_cast<long long>(m.blank));
    std::string why;
    std::printf("streaming:       %s\n", streaming_supported(c, &why) ? "supported" : ("no: " + why).c_str());
    if (m.has_front_end)
        std::printf("front end:       %lld Hz, n_fft %lld, hop %lld, %lld mels, right padding %lld, global stats %s\n",
                    static_cast<long long>(m.front_end.sample_rate), static_cast<long long>(m.front_end.n_fft),
                    static_cast<long long>(m.front_end.hop_length), static_cast<long long>(m.front_end.n_mels),
                    static_cast<long long>(m.front_end.right_padding),
                    m.front_end.global_mean.empty() ? "absent" : "present");
    else
        std::printf("front end:       absent\n");
    if (m.vocabulary.empty())
        std::printf("vocabulary:      absent\n");
    else
        std::printf("vocabulary:      %zu SentencePiece pieces; unk %lld, bos %lld, eos %lld, pad %lld\n",
                    m.vocabulary.size(), static_cast<long long>(m.unk_id), static_cast<long long>(m.bos_id),
                    static_cast<long long>(m.eos_id), static_cast<long long>(m.pad_id));
    return 0;
}

}  // namespace ember::verbs
