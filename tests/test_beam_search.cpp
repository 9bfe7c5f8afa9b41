// search() against its reference twin (tests/search_reference.cpp, the plain
// transliteration of RNNTBeamSearch._search): the same hypotheses bit for bit
// (tokens, frames, float32 scores, order) over the decoder fixture models,
// beams from 1 to the whole vocabulary, temperatures, step_max_tokens,
// streaming with the decoder's own best hypothesis as the seed, and models
// whose tied log-probabilities make the ranking fall back to every score.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "engine/npy.h"
#include "model/beam_search.h"
#include "model/transcriber.h"
#include "tests/search_reference.h"
#include "tests/test_support.h"

namespace {

const char* const kDecoderFixtures[] = {"ln_1lstm", "noln_3lstm", "step_max2", "temp0p7_2lstm", "temp1p5_noln"};

ember::Model load_decoder_fixture(const std::string& name) {
    const std::string dir = ember::test::fixture("decoder/" + name);
    const std::string out = ember::test::scratch("search_" + name + ".ember");
    const auto result = ember::test::run_ember("convert --checkpoint " + dir + "/model.pt --config " + dir +
                                               "/config.json -o " + out);
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    return ember::load_model(out);
}

// The fixture's features through the transcriber, scaled by `gain` (a larger
// gain moves the emission rate), (T, encoding_dim).
std::vector<float> encoder_frames(const ember::Model& model, const std::string& name, float gain, int64_t& rows) {
    const ember::EmformerRnntConfig& c = model.config();
    ember::NpyArray features = ember::read_npy(ember::test::fixture("decoder/" + name + "/features.npy"));
    const int64_t frames = features.shape.at(0);
    rows = ember::transcribe_output_rows(c, frames);
    std::vector<float> out(static_cast<size_t>(rows * c.encoding_dim));
    ember::transcribe(model, {features.values.data(), frames, c.input_dim, c.input_dim},
                      {out.data(), rows, c.encoding_dim, c.encoding_dim});
    for (float& v : out) v *= gain;
    return out;
}

void require_identical(const std::vector<ember::Hypothesis>& got, const std::vector<ember::Hypothesis>& want) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        INFO("hypothesis " << i);
        REQUIRE(got[i].tokens == want[i].tokens);
        REQUIRE(got[i].frames == want[i].frames);
        REQUIRE(std::memcmp(&got[i].score, &want[i].score, sizeof(float)) == 0);
    }
}

// Both searches over the frames, whole or in streaming chunks seeded with the
// previous chunk's best (the decoder's own hypothesis), compared after every call.
void compare(const ember::Model& model, const std::vector<float>& frames, int64_t rows,
             const ember::SearchOptions& options, bool streaming, ember::SearchStats& stats) {
    const int64_t E = model.config().encoding_dim;
    ember::Decoder decoder = ember::make_decoder(model, options);
    ember::test::ReferenceDecoder reference = ember::test::make_reference_decoder(model, options);
    const int64_t step = streaming ? ember::chunk_output_rows(model.config()) : rows;
    std::vector<ember::Hypothesis> want;
    for (int64_t start = 0; start < rows; start += step) {
        INFO("frames from " << start);
        const ember::Tensor x{const_cast<float*>(frames.data()) + start * E, std::min(step, rows - start), E, E};
        const bool seeded = streaming && start > 0;
        want = ember::test::reference_search(reference, x, seeded ? &want.front() : nullptr);
        require_identical(ember::search(decoder, x, seeded ? &decoder.hypotheses.front() : nullptr), want);
    }
    stats.predictions_reused += decoder.stats.predictions_reused;
    stats.scores_reused += decoder.stats.scores_reused;
    stats.full_rankings += decoder.stats.full_rankings;
}

// Every option combination on one model; returns the summed statistics.
ember::SearchStats compare_all(const ember::Model& model, const std::string& name) {
    const int64_t symbols = model.config().num_symbols;
    ember::SearchStats stats;
    for (float gain : {1.0f, 4.0f}) {
        int64_t rows = 0;
        const std::vector<float> frames = encoder_frames(model, name, gain, rows);
        for (int64_t beam : {int64_t{1}, int64_t{2}, int64_t{4}, symbols - 1}) {
            for (int64_t step_max : {0, 1, 100}) {
                for (float temperature : {1.0f, 0.7f}) {
                    for (bool streaming : {false, true}) {
                        INFO("gain " << gain << ", beam " << beam << ", step_max_tokens " << step_max
                                     << ", temperature " << temperature << (streaming ? ", streaming" : ""));
                        compare(model, frames, rows, {beam, temperature, step_max}, streaming, stats);
                    }
                }
            }
        }
    }
    return stats;
}

}  // namespace

TEST_CASE("summarize_row keeps the largest non-blank log-probabilities, equal ones in token order", "[decoder]") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float row[] = {-3.0f, -1.0f, -2.0f, -1.0f, nan, -0.5f, -9.0f, -0.1f /* blank */};
    float values[4];
    int32_t tokens[4];
    ember::RowSummary s = ember::summarize_row(row, 8, 4, values, tokens);
    CHECK(s.blank == -0.1f);
    CHECK(s.nan);
    REQUIRE(s.count == 4);
    CHECK(std::vector<float>(values, values + 4) == std::vector<float>{-0.5f, -1.0f, -1.0f, -2.0f});
    CHECK(std::vector<int32_t>(tokens, tokens + 4) == std::vector<int32_t>{5, 1, 3, 2});
    s = ember::summarize_row(row, 4, 4, values, tokens);  // fewer non-blank symbols than room
    CHECK(!s.nan);
    REQUIRE(s.count == 3);
    CHECK(std::vector<int32_t>(tokens, tokens + 3) == std::vector<int32_t>{1, 2, 0});
}

TEST_CASE("search returns its reference twin's hypotheses bit for bit", "[decoder]") {
    ember::SearchStats total;
    for (const char* name : kDecoderFixtures) {
        INFO(name);
        const ember::Model model = load_decoder_fixture(name);
        const ember::SearchStats stats = compare_all(model, name);
        total.predictions_reused += stats.predictions_reused;
        total.scores_reused += stats.scores_reused;
    }
    // Extensions that re-create a held sequence, as torchaudio's search does
    // all the time, reused its predictor output and log-probabilities.
    CHECK(total.predictions_reused > 0);
    CHECK(total.scores_reused > 0);
}

TEST_CASE("search ranks tied scores as its reference twin does", "[decoder]") {
    for (const char* name : kDecoderFixtures) {
        INFO(name);
        ember::Model model = load_decoder_fixture(name);
        // Tokens [half, 2 half) get the joiner weights of tokens [0, half):
        // their log-probabilities tie exactly, whatever the input.
        const ember::LinearWeights& w = model.weights.joiner.linear;
        REQUIRE(w.bias);
        std::vector<float> weight = ember::test::row_major_weight(w);
        std::vector<float> bias(w.bias, w.bias + w.out_features);
        const int64_t half = (w.out_features - 1) / 2;
        for (int64_t j = 0; j < half; ++j) {
            std::copy_n(weight.data() + j * w.in_features, w.in_features, weight.data() + (half + j) * w.in_features);
            bias[static_cast<size_t>(half + j)] = bias[static_cast<size_t>(j)];
        }
        model.weights.joiner.linear.weight = weight.data();
        model.weights.joiner.linear.packed = false;
        model.weights.joiner.linear.bias = bias.data();
        const ember::SearchStats stats = compare_all(model, name);
        CHECK(stats.full_rankings > 0);
    }
}
