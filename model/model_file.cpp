// The model-level keys of a .ember file (docs/FORMAT.md, "Metadata keys").
#include <map>
#include <utility>

#include "model/model.h"
#include "model/tensor_list.h"
#include "model/tokenizer.h"

namespace ember {

namespace {

constexpr const char* kArchitecture = "emformer_rnnt";

MetadataValue int_value(int64_t v) {
    MetadataValue m;
    m.type = MetadataValue::Type::int64;
    m.int64 = v;
    return m;
}
MetadataValue float_value(double v) {
    MetadataValue m;
    m.type = MetadataValue::Type::float64;
    m.float64 = v;
    return m;
}
MetadataValue bool_value(bool v) {
    MetadataValue m;
    m.type = MetadataValue::Type::boolean;
    m.boolean = v;
    return m;
}
MetadataValue string_value(const std::string& v) {
    MetadataValue m;
    m.type = MetadataValue::Type::string;
    m.string = v;
    return m;
}
MetadataValue floats_value(const std::vector<float>& v) {
    MetadataValue m;
    m.type = MetadataValue::Type::float32_array;
    m.float32s = v;
    return m;
}

// Reads typed metadata out of a file, naming the file and key on any problem.
struct MetadataReader {
    const EmberFile& file;

    const MetadataValue* find(const std::string& key, MetadataValue::Type type, const char* type_name) const {
        const MetadataValue* value = file.find_metadata(key);
        if (value && value->type != type) fail(file.origin, ": metadata ", key, " should be ", type_name);
        return value;
    }
    const MetadataValue& need(const std::string& key, MetadataValue::Type type, const char* type_name) const {
        const MetadataValue* value = find(key, type, type_name);
        if (!value) fail(file.origin, ": metadata ", key, " is missing");
        return *value;
    }
    int64_t integer(const std::string& key) const { return need(key, MetadataValue::Type::int64, "an int64").int64; }
    double number(const std::string& key) const { return need(key, MetadataValue::Type::float64, "a float64").float64; }
    bool boolean(const std::string& key) const { return need(key, MetadataValue::Type::boolean, "a bool").boolean; }
    std::string string(const std::string& key) const {
        return need(key, MetadataValue::Type::string, "a string").string;
    }
};

const char* const kSpecialIdKeys[] = {"tokenizer.unk_id", "tokenizer.bos_id", "tokenizer.eos_id", "tokenizer.pad_id"};

// The special token ids (format 1.1). A 1.0 file lacks them; for it they are
// found as sentencepiece finds them in a model trained without --*_piece
// flags, under the names <unk>, <s>, </s>, <pad>.
void read_special_ids(const MetadataReader& read, ModelMetadata& m) {
    const std::string& origin = read.file.origin;
    int64_t* ids[] = {&m.unk_id, &m.bos_id, &m.eos_id, &m.pad_id};
    const char* const default_names[] = {"<unk>", "<s>", "</s>", "<pad>"};
    const int32_t wanted_types[] = {sentencepiece_unknown, sentencepiece_control, sentencepiece_control,
                                    sentencepiece_control};
    const bool stored = read.file.find_metadata(kSpecialIdKeys[0]) || read.file.find_metadata(kSpecialIdKeys[1]) ||
                        read.file.find_metadata(kSpecialIdKeys[2]) || read.file.find_metadata(kSpecialIdKeys[3]);
    const int64_t size = static_cast<int64_t>(m.vocabulary.size());
    for (int i = 0; i < 4; ++i) {
        if (!stored) {
            *ids[i] = sentencepiece_special_id(m.vocabulary, m.vocabulary_types, default_names[i], wanted_types[i]);
            continue;
        }
        const int64_t id = *ids[i] = read.integer(kSpecialIdKeys[i]);
        if (id == -1) continue;
        if (id < 0 || id >= size)
            fail(origin, ": metadata ", kSpecialIdKeys[i], " = ", id, " is neither -1 nor a piece id in [0, ", size,
                 ")");
        const size_t piece = static_cast<size_t>(id);
        if (m.vocabulary_types[piece] != wanted_types[i])
            fail(origin, ": metadata ", kSpecialIdKeys[i], " = ", id, " names piece '", m.vocabulary[piece],
                 "' of type ", m.vocabulary_types[piece], ", expected type ", wanted_types[i],
                 i == 0 ? " (unknown)" : " (control)");
    }
}

}  // namespace

std::vector<std::pair<std::string, MetadataValue>> model_metadata_entries(const ModelMetadata& metadata) {
    const EmformerRnntConfig& c = metadata.config;
    const std::string p = "emformer_rnnt.";
    std::vector<std::pair<std::string, MetadataValue>> entries = {
        {"general.architecture", string_value(kArchitecture)},
        {p + "input_dim", int_value(c.input_dim)},
        {p + "encoding_dim", int_value(c.encoding_dim)},
        {p + "num_symbols", int_value(c.num_symbols)},
        {p + "segment_length", int_value(c.segment_length)},
        {p + "right_context_length", int_value(c.right_context_length)},
        {p + "time_reduction_input_dim", int_value(c.time_reduction_input_dim)},
        {p + "time_reduction_stride", int_value(c.time_reduction_stride)},
        {p + "transformer_num_heads", int_value(c.transformer_num_heads)},
        {p + "transformer_ffn_dim", int_value(c.transformer_ffn_dim)},
        {p + "transformer_num_layers", int_value(c.transformer_num_layers)},
        {p + "transformer_dropout", float_value(c.transformer_dropout)},
        {p + "transformer_activation", string_value(c.transformer_activation)},
        {p + "transformer_left_context_length", int_value(c.transformer_left_context_length)},
        {p + "transformer_max_memory_size", int_value(c.transformer_max_memory_size)},
        {p + "transformer_weight_init_scale_strategy", string_value(c.transformer_weight_init_scale_strategy)},
        {p + "transformer_tanh_on_mem", bool_value(c.transformer_tanh_on_mem)},
        {p + "symbol_embedding_dim", int_value(c.symbol_embedding_dim)},
        {p + "num_lstm_layers", int_value(c.num_lstm_layers)},
        {p + "lstm_layer_norm", bool_value(c.lstm_layer_norm)},
        {p + "lstm_layer_norm_epsilon", float_value(c.lstm_layer_norm_epsilon)},
        {p + "lstm_dropout", float_value(c.lstm_dropout)},
        {p + "blank", int_value(metadata.blank)},
    };
    if (metadata.has_front_end) {
        const FrontEndConfig& f = metadata.front_end;
        entries.push_back({"front_end.sample_rate", int_value(f.sample_rate)});
        entries.push_back({"front_end.n_fft", int_value(f.n_fft)});
        entries.push_back({"front_end.hop_length", int_value(f.hop_length)});
        entries.push_back({"front_end.n_mels", int_value(f.n_mels)});
        entries.push_back({"front_end.right_padding", int_value(f.right_padding)});
        if (!f.global_mean.empty()) {
            entries.push_back({"front_end.global_mean", floats_value(f.global_mean)});
            entries.push_back({"front_end.global_invstddev", floats_value(f.global_invstddev)});
        }
    }
    if (!metadata.vocabulary.empty()) {
        MetadataValue pieces;
        pieces.type = MetadataValue::Type::string_array;
        pieces.strings = metadata.vocabulary;
        entries.push_back({"tokenizer.pieces", pieces});
        entries.push_back({"tokenizer.scores", floats_value(metadata.vocabulary_scores)});
        MetadataValue types;
        types.type = MetadataValue::Type::int32_array;
        types.int32s = metadata.vocabulary_types;
        entries.push_back({"tokenizer.types", types});
        entries.push_back({"tokenizer.unk_id", int_value(metadata.unk_id)});
        entries.push_back({"tokenizer.bos_id", int_value(metadata.bos_id)});
        entries.push_back({"tokenizer.eos_id", int_value(metadata.eos_id)});
        entries.push_back({"tokenizer.pad_id", int_value(metadata.pad_id)});
    }
    return entries;
}

ModelMetadata decode_model_metadata(const EmberFile& file) {
    MetadataReader read{file};
    const std::string architecture = read.string("general.architecture");
    if (architecture != kArchitecture)
        fail(file.origin, ": model architecture is '", architecture, "', ember runs '", kArchitecture, "'");
    ModelMetadata m;
    EmformerRnntConfig& c = m.config;
    const std::string p = "emformer_rnnt.";
    c.input_dim = read.integer(p + "input_dim");
    c.encoding_dim = read.integer(p + "encoding_dim");
    c.num_symbols = read.integer(p + "num_symbols");
    c.segment_length = read.integer(p + "segment_length");
    c.right_context_length = read.integer(p + "right_context_length");
    c.time_reduction_input_dim = read.integer(p + "time_reduction_input_dim");
    c.time_reduction_stride = read.integer(p + "time_reduction_stride");
    c.transformer_num_heads = read.integer(p + "transformer_num_heads");
    c.transformer_ffn_dim = read.integer(p + "transformer_ffn_dim");
    c.transformer_num_layers = read.integer(p + "transformer_num_layers");
    c.transformer_dropout = read.number(p + "transformer_dropout");
    c.transformer_activation = read.string(p + "transformer_activation");
    c.transformer_left_context_length = read.integer(p + "transformer_left_context_length");
    c.transformer_max_memory_size = read.integer(p + "transformer_max_memory_size");
    c.transformer_weight_init_scale_strategy = read.string(p + "transformer_weight_init_scale_strategy");
    c.transformer_tanh_on_mem = read.boolean(p + "transformer_tanh_on_mem");
    c.symbol_embedding_dim = read.integer(p + "symbol_embedding_dim");
    c.num_lstm_layers = read.integer(p + "num_lstm_layers");
    c.lstm_layer_norm = read.boolean(p + "lstm_layer_norm");
    c.lstm_layer_norm_epsilon = read.number(p + "lstm_layer_norm_epsilon");
    c.lstm_dropout = read.number(p + "lstm_dropout");
    try {
        validate_config(c);
    } catch (const Error& error) {
        fail(file.origin, ": ", error.what());
    }
    m.blank = read.integer(p + "blank");
    if (m.blank < 0 || m.blank >= c.num_symbols)
        fail(file.origin, ": blank index ", m.blank, " is outside [0, num_symbols = ", c.num_symbols, ")");

    if (file.find_metadata("front_end.sample_rate")) {
        m.has_front_end = true;
        FrontEndConfig& f = m.front_end;
        f.sample_rate = read.integer("front_end.sample_rate");
        f.n_fft = read.integer("front_end.n_fft");
        f.hop_length = read.integer("front_end.hop_length");
        f.n_mels = read.integer("front_end.n_mels");
        f.right_padding = read.integer("front_end.right_padding");
        if (f.sample_rate <= 0 || f.n_fft <= 0 || f.hop_length <= 0 || f.n_mels <= 0 || f.right_padding < 0)
            fail(file.origin, ": front_end settings must be positive");
        if (const MetadataValue* mean = read.find("front_end.global_mean", MetadataValue::Type::float32_array,
                                                  "a float32 array")) {
            f.global_mean = mean->float32s;
            f.global_invstddev =
                read.need("front_end.global_invstddev", MetadataValue::Type::float32_array, "a float32 array")
                    .float32s;
            if (static_cast<int64_t>(f.global_mean.size()) != f.n_mels ||
                static_cast<int64_t>(f.global_invstddev.size()) != f.n_mels)
                fail(file.origin, ": global mean/invstddev have ", f.global_mean.size(), "/",
                     f.global_invstddev.size(), " values, expected n_mels = ", f.n_mels);
        }
    }
    if (const MetadataValue* pieces =
            read.find("tokenizer.pieces", MetadataValue::Type::string_array, "a string array")) {
        m.vocabulary = pieces->strings;
        m.vocabulary_scores =
            read.need("tokenizer.scores", MetadataValue::Type::float32_array, "a float32 array").float32s;
        m.vocabulary_types = read.need("tokenizer.types", MetadataValue::Type::int32_array, "an int32 array").int32s;
        if (m.vocabulary_scores.size() != m.vocabulary.size() || m.vocabulary_types.size() != m.vocabulary.size())
            fail(file.origin, ": tokenizer pieces, scores and types differ in count");
        read_special_ids(read, m);
    } else {
        for (const char* key : kSpecialIdKeys)
            if (file.find_metadata(key)) fail(file.origin, ": metadata ", key, " without tokenizer.pieces");
    }
    return m;
}

namespace {

// Everything after the container is parsed, shared by the file and in-memory loads.
Model finish_loading(EmberFile file) {
    Model model;
    model.file = std::move(file);
    model.metadata = decode_model_metadata(model.file);
    // Every layer has at least one tensor: a file with fewer tensors than its
    // config has layers is refused before the config's tensor list (up to
    // ~90k names for 4096 + 4096 layers) is built and compared.
    const EmformerRnntConfig& c = model.config();
    const uint64_t layers = static_cast<uint64_t>(c.transformer_num_layers) + static_cast<uint64_t>(c.num_lstm_layers);
    if (layers > model.file.tensors.size())
        fail(model.file.origin, ": the config has ", c.transformer_num_layers, " Emformer and ", c.num_lstm_layers,
             " LSTM layers, but the file holds only ", model.file.tensors.size(), " tensors");
    std::map<std::string, std::vector<int64_t>> shapes;
    for (const TensorInfo& tensor : model.file.tensors) shapes[tensor.name] = tensor.shape;
    check_tensor_shapes(emformer_rnnt_tensors(model.config()), shapes, model.file.origin);
    model.weights = bind_weights(model.config(), model.file);
    return model;
}

}  // namespace

Model load_model(const std::string& path) { return finish_loading(open_ember_file(path)); }

Model load_model_from_bytes(const uint8_t* data, size_t size, const std::string& origin) {
    return finish_loading(parse_ember_file(MappedFile::from_bytes(data, size), origin));
}

}  // namespace ember
