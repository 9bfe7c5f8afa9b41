// ember decode: features (.npy) -> RNN-T hypotheses, as torchaudio's RNNTBeamSearch.
#include <cstdio>
#include <string>
#include <vector>

#include "engine/npy.h"
#include "kernels/kernels.h"
#include "model/beam_search.h"
#include "model/model.h"
#include "model/transcriber.h"
#include "tools/cli.h"
#include "tools/features_input.h"
#include "tools/verbs.h"

namespace ember::verbs {

namespace {

const char* kUsage =
    "usage: ember decode MODEL.ember --features IN.npy [--beam K] [--streaming] [--temperature T]\n"
    "                    [--step-max-tokens N] [--carry-predictor | --carry-beam] [--threads N] [--json]\n\n"
    "Runs the transcriber and RNN-T beam search (torchaudio's RNNTBeamSearch) on float32\n"
    "features (T, input_dim) whose last right_context_length frames are the right context.\n\n"
    "  --features IN.npy      float32, C order, shape (T, input_dim)\n"
    "  --beam K               beam width, 1 .. num_symbols - 1 (default 10; 1 is greedy)\n"
    "  --streaming            decode chunk by chunk as RNNTBeamSearch.infer, each chunk seeded\n"
    "                         with the best hypothesis of the one before\n"
    "  --temperature T        joiner temperature (default 1.0)\n"
    "  --step-max-tokens N    tokens emitted per encoder frame at most (default 100)\n"
    EMBER_CARRY_PREDICTOR_HELP
    "  --threads N            cores to split each matrix product across (default 1)\n"
    "  --json                 print every hypothesis with its score as JSON\n";

void print_hypotheses_json(const std::vector<Hypothesis>& hypotheses) {
    std::printf("{\"hypotheses\": [");
    for (size_t i = 0; i < hypotheses.size(); ++i) {
        std::printf("%s{\"tokens\": [", i ? ", " : "");
        for (size_t j = 0; j < hypotheses[i].tokens.size(); ++j)
            std::printf("%s%lld", j ? ", " : "", static_cast<long long>(hypotheses[i].tokens[j]));
        std::printf("], \"score\": %.9g}", static_cast<double>(hypotheses[i].score));
    }
    std::printf("]}");
}

// The best hypothesis's emitted token ids (its leading seed token left out),
// and their pieces when the model carries a vocabulary.
void print_readable(const Model& model, const std::vector<int64_t>& tokens) {
    std::printf("tokens:");
    for (int64_t token : tokens) std::printf(" %lld", static_cast<long long>(token));
    std::printf("\n");
    const std::vector<std::string>& pieces = model.metadata.vocabulary;
    if (pieces.empty()) return;
    std::string text;
    for (int64_t token : tokens)
        if (token >= 0 && token < static_cast<int64_t>(pieces.size())) text += pieces[static_cast<size_t>(token)];
    std::printf("pieces: %s\n", text.c_str());
}

}  // namespace

int decode(const Args& args) {
    const cli::ParsedArgs parsed = cli::parse_args(args, {{"--features"},
                                                          {"--beam"},
                                                          {"--streaming", false},
                                                          {"--temperature"},
                                                          {"--step-max-tokens"},
                                                          {"--carry-predictor", false}, {"--carry-beam", false},
                                                          {"--json", false}, {"--threads"}});
    if (parsed.help) {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (parsed.positionals.size() != 1) throw cli::UsageError("expected one MODEL.ember argument");
    const std::string model_path = parsed.positionals[0];
    const std::string features_path = parsed.required("--features");
    SearchOptions options;
    options.beam = parsed.integer("--beam", 10, 1, 1 << 20);
    options.temperature = static_cast<float>(parsed.number("--temperature", 1.0, 1e-6, 1e6));
    options.step_max_tokens = parsed.integer("--step-max-tokens", 100, 0, 1 << 20);
    options.carry_predictor = cli::carry_predictor(parsed);
    options.carry_beam = cli::carry_beam(parsed);
    const bool json = parsed.has("--json"), streaming = parsed.has("--streaming");
    cli::check_input_file(model_path);
    cli::check_input_file(features_path);

    kernels::set_num_threads(static_cast<int>(parsed.integer("--threads", 1, 1, 256)));
    const Model model = load_model(model_path);
    const EmformerRnntConfig& c = model.config();
    Decoder decoder = make_decoder(model, options);
    NpyArray features = read_features(features_path, c);
    const int64_t T = features.shape[0];

    if (!streaming) {
        const int64_t rows = checked_output_rows(features, c, features_path);
        std::vector<float> encoded(static_cast<size_t>(rows * c.encoding_dim));
        const Tensor encoder_out{encoded.data(), rows, c.encoding_dim, c.encoding_dim};
        transcribe(model, {features.values.data(), T, c.input_dim, c.input_dim}, encoder_out);
        const std::vector<Hypothesis> hypotheses = search(decoder, encoder_out, nullptr);
        if (json) {
            print_hypotheses_json(hypotheses);
            std::printf("\n");
        } else {
            const std::vector<int64_t>& best = hypotheses.front().tokens;
            print_readable(model, std::vector<int64_t>(best.begin() + 1, best.end()));
        }
        return 0;
    }

    TranscriberStream stream = make_transcriber_stream(model);
    const int64_t chunk_frames = chunk_input_frames(c), rows = chunk_output_rows(c);
    const int64_t chunks = streaming_chunk_count(features, c);
    std::vector<float> chunk;
    std::vector<float> encoded(static_cast<size_t>(rows * c.encoding_dim));
    const Tensor encoder_out{encoded.data(), rows, c.encoding_dim, c.encoding_dim};
    std::vector<Hypothesis> hypotheses;
    std::vector<int64_t> emitted;  // the best path's tokens over all chunks, for the readable form
    if (json) std::printf("{\"chunks\": [");
    for (int64_t k = 0; k < chunks; ++k) {
        fill_chunk(features, c, k, chunk);
        transcribe_chunk(stream, {chunk.data(), chunk_frames, c.input_dim, c.input_dim}, encoder_out);
        // infer seeds each chunk's search with the best hypothesis so far;
        // --carry-beam carries the whole beam on, its best being the whole path so far.
        const bool carried = options.carry_beam && k > 0;
        hypotheses = search_stream_chunk(decoder, encoder_out, k == 0);
        const std::vector<int64_t>& best = hypotheses.front().tokens;
        if (carried) emitted.clear();
        emitted.insert(emitted.end(), best.begin() + 1, best.end());
        if (json) {
            std::printf("%s", k ? ", " : "");
            print_hypotheses_json(hypotheses);
        }
    }
    if (json) {
        std::printf("]}\n");
    } else {
        print_readable(model, emitted);
    }
    return 0;
}

}  // namespace ember::verbs
