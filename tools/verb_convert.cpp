// ember convert: torchaudio checkpoint (.pt) + config (.json) -> .ember
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>

#include "engine/ember_file.h"
#include "engine/error.h"
#include "model/model.h"
#include "model/tensor_list.h"
#include "model/tokenizer.h"
#include "tools/checkpoint/json.h"
#include "tools/checkpoint/sentencepiece_model.h"
#include "tools/checkpoint/torch_checkpoint.h"
#include "tools/cli.h"
#include "tools/model_config_json.h"
#include "tools/verbs.h"

namespace ember::verbs {

namespace {

const char* kUsage =
    "usage: ember convert --checkpoint MODEL.pt --config CONFIG.json [--global-stats STATS.json]\n"
    "                     [--sentencepiece SP.model] -o OUT.ember\n\n"
    "Converts a torchaudio Emformer RNN-T state_dict (torch.save(model.state_dict(), path))\n"
    "into one .ember file.\n\n"
    "  --checkpoint MODEL.pt      the state_dict (or a dict holding it under \"state_dict\")\n"
    "  --config CONFIG.json       emformer_rnnt_model's keyword arguments, all 21 of them,\n"
    "                             or {\"preset\": \"base\", \"num_symbols\": N}\n"
    "  --global-stats STATS.json  feature normalisation {\"mean\": [...], \"invstddev\": [...]}\n"
    "  --sentencepiece SP.model   the SentencePiece model whose pieces the tokens are; its\n"
    "                             pieces and unk/bos/eos/pad ids are stored\n"
    "  -o, --output OUT.ember     where to write\n";

void read_global_stats(const std::string& path, FrontEndConfig& front_end) {
    const JsonValue json = read_json_file(path);
    auto values = [&](const char* key) {
        auto it = json.object.find(key);
        if (json.kind != JsonValue::Kind::object || it == json.object.end() || it->second.kind != JsonValue::Kind::array)
            fail(path, ": global stats need an array \"", key, "\"");
        std::vector<float> out;
        for (const JsonValue& v : it->second.array) {
            if (v.kind != JsonValue::Kind::number) fail(path, ": \"", key, "\" must hold numbers only");
            out.push_back(static_cast<float>(v.number));
        }
        return out;
    };
    front_end.global_mean = values("mean");
    front_end.global_invstddev = values("invstddev");
    if (static_cast<int64_t>(front_end.global_mean.size()) != front_end.n_mels ||
        static_cast<int64_t>(front_end.global_invstddev.size()) != front_end.n_mels)
        fail(path, ": \"mean\" and \"invstddev\" must each hold n_mels = ", front_end.n_mels, " values, got ",
             front_end.global_mean.size(), " and ", front_end.global_invstddev.size());
}

}  // namespace

int convert(const Args& args) {
    const cli::ParsedArgs parsed = cli::parse_args(args, {{"--checkpoint"},
                                                          {"--config"},
                                                          {"--global-stats"},
                                                          {"--sentencepiece"},
                                                          {"--output", true, "-o"}});
    if (parsed.help) {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (!parsed.positionals.empty()) throw cli::UsageError("unexpected argument '" + parsed.positionals[0] + "'");
    const std::string checkpoint_path = parsed.required("--checkpoint");
    const std::string config_path = parsed.required("--config");
    const std::string output_path = parsed.required("--output");
    const auto start = std::chrono::steady_clock::now();

    cli::check_input_file(config_path);
    cli::check_input_file(checkpoint_path);
    cli::check_output_file(output_path);
    ModelMetadata metadata;
    metadata.config = config_from_json(read_json_file(config_path), config_path);
    // torchaudio's RNNTBeamSearch treats the last joiner output as the blank.
    metadata.blank = metadata.config.num_symbols - 1;
    metadata.has_front_end = true;
    metadata.front_end.n_mels = metadata.config.input_dim;
    // The pipeline pads non-streaming features with the right context the
    // model expects (4 frames for emformer_rnnt_base).
    metadata.front_end.right_padding = metadata.config.right_context_length;
    if (auto stats = parsed.optional("--global-stats")) {
        cli::check_input_file(*stats);
        read_global_stats(*stats, metadata.front_end);
    }
    if (auto sentencepiece = parsed.optional("--sentencepiece")) {
        cli::check_input_file(*sentencepiece);
        SentencePieceVocabulary vocabulary = read_sentencepiece_model(*sentencepiece);
        metadata.vocabulary = std::move(vocabulary.pieces);
        metadata.vocabulary_scores = std::move(vocabulary.scores);
        metadata.vocabulary_types = std::move(vocabulary.types);
        // The ids SentencePieceProcessor reports, which torchaudio's token
        // processor filters out (unk, eos, pad) or keeps (bos).
        const auto special_id = [&](const std::string& name, int32_t type) {
            return sentencepiece_special_id(metadata.vocabulary, metadata.vocabulary_types, name, type);
        };
        metadata.unk_id = special_id(vocabulary.unk_piece, sentencepiece_unknown);
        metadata.bos_id = special_id(vocabulary.bos_piece, sentencepiece_control);
        metadata.eos_id = special_id(vocabulary.eos_piece, sentencepiece_control);
        metadata.pad_id = special_id(vocabulary.pad_piece, sentencepiece_control);
        // Every token the model can emit (all but the blank, the last) must name a piece.
        if (static_cast<int64_t>(metadata.vocabulary.size()) < metadata.config.num_symbols - 1)
            fail(*sentencepiece, ": ", metadata.vocabulary.size(), " pieces, but the model emits ",
                 metadata.config.num_symbols - 1, " non-blank tokens (num_symbols - 1); is this the model's vocabulary?");
    }

    const std::map<std::string, CheckpointTensor> checkpoint = read_torch_checkpoint(checkpoint_path);
    std::map<std::string, std::vector<int64_t>> shapes;
    for (const auto& [name, tensor] : checkpoint) shapes[name] = tensor.shape;
    const std::vector<TensorSpec> expected = emformer_rnnt_tensors(metadata.config);
    check_tensor_shapes(expected, shapes, checkpoint_path);
    // NaN or infinite weights would only show later as NaN scores and empty
    // text. Checked here, once, rather than at every load: loading maps the
    // file without touching tensor bytes, and a scan of the 307 MB base model
    // (page faults + isfinite) took ~1 s warm, far over a 50 ms budget.
    for (const TensorSpec& spec : expected) {
        const std::vector<float>& values = checkpoint.at(spec.name).values;
        for (size_t i = 0; i < values.size(); ++i)
            if (!std::isfinite(values[i]))
                fail(checkpoint_path, ": tensor ", spec.name, " holds ", values[i], " at flat index ", i,
                     "; refusing to convert non-finite weights");
    }

    std::vector<TensorToWrite> tensors;
    for (const TensorSpec& spec : expected)
        tensors.push_back({spec.name, spec.shape, checkpoint.at(spec.name).values.data(),
                           spec.linear_weight ? TensorLayout::float32_panels16 : TensorLayout::float32});
    cli::Progress progress("writing " + output_path);
    write_ember_file(output_path, model_metadata_entries(metadata), tensors,
                     [&progress](double fraction) { progress.update(fraction); });
    progress.finish();

    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "wrote %s: %zu tensors in %.2f s\n", output_path.c_str(), tensors.size(), seconds);
    return 0;
}

}  // namespace ember::verbs
