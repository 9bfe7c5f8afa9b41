// search() against its reference twin (tests/search_reference.cpp, the plain
// transliteration of RNNTBeamSearch._search): the same hypotheses bit for bit
// (tokens, frames, float32 scores, order) over the decoder fixture models,
// beams from 1 to the whole vocabulary, temperatures, step_max_tokens,
// streaming with the decoder's own best hypothesis as the seed, streaming
// with the whole beam carried on (continue_search), hypotheses scored at one
// frame or three per joiner call, and models
// whose tied log-probabilities make the ranking fall back to every score.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "engine/npy.h"
#include "model/beam_search.h"
#include "model/transcriber.h"
#include "tools/checkpoint/json.h"
#include "tools/features_input.h"
#include "tests/search_reference.h"
#include "tests/test_support.h"

namespace {

const char* const kDecoderFixtures[] = {"ln_1lstm", "noln_3lstm", "step_max2", "temp0p7_2lstm", "temp1p5_noln"};

std::string decoder_fixture_path(const std::string& name) { return ember::test::scratch("search_" + name + ".ember"); }

ember::Model load_decoder_fixture(const std::string& name) {
    return ember::load_model(
        ember::test::convert_fixture_case(ember::test::fixture("decoder/" + name), decoder_fixture_path(name)));
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

enum class Mode { whole, seeded, carried };

// Both searches over the frames: whole; or in streaming chunks, each seeded
// with the previous chunk's best (the decoder's own hypothesis); or carried
// on from chunk to chunk by continue_search, which must equal the reference
// search over all the frames so far. Compared after every call.
void compare(const ember::Model& model, const std::vector<float>& frames, int64_t rows,
             const ember::SearchOptions& options, Mode mode, ember::SearchStats& stats) {
    const int64_t E = model.config().encoding_dim;
    ember::Decoder decoder = ember::make_decoder(model, options);
    ember::test::ReferenceDecoder reference = ember::test::make_reference_decoder(model, options);
    const int64_t step = mode == Mode::whole ? rows : ember::chunk_output_rows(model.config());
    std::vector<ember::Hypothesis> want;
    for (int64_t start = 0; start < rows; start += step) {
        INFO("frames from " << start);
        const int64_t count = std::min(step, rows - start);
        const ember::Tensor x{const_cast<float*>(frames.data()) + start * E, count, E, E};
        if (mode == Mode::carried) {
            const ember::Tensor so_far{const_cast<float*>(frames.data()), start + count, E, E};
            want = ember::test::reference_search(reference, so_far, nullptr);
            require_identical(start == 0 ? ember::search(decoder, x, nullptr) : ember::continue_search(decoder, x),
                              want);
            continue;
        }
        const bool seeded = mode == Mode::seeded && start > 0;
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
                    for (Mode mode : {Mode::whole, Mode::seeded, Mode::carried}) {
                        // The fixtures' joiners are small: scoring 1 frame per call unless told
                        // (3 frames: with one temperature, to keep the test's time).
                        for (int64_t score_frames : {0, 3}) {
                            if (score_frames == 3 && temperature == 1.0f) continue;
                            INFO("gain " << gain << ", beam " << beam << ", step_max_tokens " << step_max
                                         << ", temperature " << temperature << ", mode " << static_cast<int>(mode)
                                         << ", score_frames " << score_frames);
                            ember::SearchOptions options{beam, temperature, step_max};
                            options.score_frames = score_frames;
                            compare(model, frames, rows, options, mode, stats);
                        }
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

TEST_CASE("scoring several frames per joiner call makes fewer calls and the same hypotheses", "[decoder]") {
    const ember::Model model = load_decoder_fixture("ln_1lstm");
    int64_t rows = 0;
    const std::vector<float> frames = encoder_frames(model, "ln_1lstm", 1.0f, rows);
    const int64_t E = model.config().encoding_dim;
    const ember::Tensor x{const_cast<float*>(frames.data()), rows, E, E};
    ember::SearchOptions options;
    options.beam = 2;
    CHECK(ember::frames_scored_per_call(model.config(), options) == 1);  // a joiner this small stays in cache
    ember::EmformerRnntConfig base = model.config();  // the base model's joiner, 16.8 MB
    base.encoding_dim = 1024;
    base.num_symbols = 4097;
    for (auto [beam, scored] : {std::pair<int64_t, int64_t>{1, 4}, {4, 4}, {5, 3}, {8, 2}, {10, 1}, {100, 1}}) {
        ember::SearchOptions o;
        o.beam = beam;
        CHECK(ember::frames_scored_per_call(base, o) == scored);
    }
    ember::Decoder one = ember::make_decoder(model, options);
    options.score_frames = 4;
    ember::Decoder four = ember::make_decoder(model, options);
    require_identical(ember::search(four, x, nullptr), ember::search(one, x, nullptr));
    INFO("joiner calls " << one.stats.joiner_calls << " and " << four.stats.joiner_calls);
    CHECK(one.stats.joiner_calls >= rows);
    CHECK(four.stats.joiner_calls < one.stats.joiner_calls * 2 / 3);
    CHECK(four.stats.scores_reused > one.stats.scores_reused);
    options.score_frames = -1;
    CHECK_THROWS_WITH(ember::make_decoder(model, options), Catch::Contains("score_frames must not be negative"));
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

TEST_CASE("continue_search forgets the sequences no hypothesis or slot holds", "[decoder]") {
    const ember::Model model = load_decoder_fixture("ln_1lstm");
    int64_t rows = 0;
    const std::vector<float> once = encoder_frames(model, "ln_1lstm", 4.0f, rows);
    std::vector<float> frames;
    for (int repeat = 0; repeat < 8; ++repeat) frames.insert(frames.end(), once.begin(), once.end());
    const int64_t E = model.config().encoding_dim, step = ember::chunk_output_rows(model.config());
    ember::Decoder decoder = ember::make_decoder(model, {4, 1.0f, 100});
    for (int64_t start = 0; start < 8 * rows; start += step) {
        const ember::Tensor x{frames.data() + start * E, std::min(step, 8 * rows - start), E, E};
        if (start == 0) ember::search(decoder, x, nullptr);
        else ember::continue_search(decoder, x);
    }
    const std::vector<ember::Hypothesis> before = decoder.hypotheses;
    const size_t grown = decoder.tree.prefixes.size();
    // No frames: only the forgetting.
    require_identical(ember::continue_search(decoder, {frames.data(), 0, E, E}), before);
    const ember::SearchTree& tree = decoder.tree;
    std::vector<bool> held(tree.prefixes.size()), led_to(tree.emissions.size());
    auto hold = [&](int32_t p) {
        for (; p >= 0; p = tree.prefixes[static_cast<size_t>(p)].parent) held[static_cast<size_t>(p)] = true;
    };
    for (const ember::SearchHypothesis& h : decoder.scratch.b) {
        hold(h.prefix);
        for (int32_t e = h.emission; e >= 0; e = tree.emissions[static_cast<size_t>(e)].parent)
            led_to[static_cast<size_t>(e)] = true;
    }
    for (const ember::SlotInfo& info : decoder.slots.info) hold(info.prefix);
    CHECK(std::count(held.begin(), held.end(), true) == static_cast<std::ptrdiff_t>(held.size()));
    CHECK(std::count(led_to.begin(), led_to.end(), true) == static_cast<std::ptrdiff_t>(led_to.size()));
    CHECK(tree.prefixes.size() < grown);
    for (size_t p = 0; p < tree.prefixes.size(); ++p) {  // the links agree after renumbering
        const int32_t slot = tree.prefixes[p].slot;
        if (slot >= 0) CHECK(decoder.slots.info[static_cast<size_t>(slot)].prefix == static_cast<int32_t>(p));
        for (int32_t c = tree.prefixes[p].first_child; c >= 0; c = tree.prefixes[static_cast<size_t>(c)].next_sibling)
            CHECK(tree.prefixes[static_cast<size_t>(c)].parent == static_cast<int32_t>(p));
    }
    // Tokens emitted in every repetition: the test proves nothing on a silent search.
    CHECK(before.front().tokens.size() > 8);
}

TEST_CASE("continue_search needs a search to continue", "[decoder]") {
    const ember::Model model = load_decoder_fixture("ln_1lstm");
    ember::Decoder decoder = ember::make_decoder(model, {});
    std::vector<float> frame(static_cast<size_t>(model.config().encoding_dim));
    REQUIRE_THROWS_WITH(ember::continue_search(decoder, {frame.data(), 1, model.config().encoding_dim,
                                                         model.config().encoding_dim}),
                        Catch::Contains("no search to continue"));
}

TEST_CASE("ember decode --streaming --carry-beam ends as one search over the streaming transcriber's frames",
          "[decoder][cli]") {
    for (const char* name : kDecoderFixtures) {
        INFO(name);
        const ember::Model model = load_decoder_fixture(name);
        const ember::EmformerRnntConfig& c = model.config();
        const std::string features_path = ember::test::fixture(std::string("decoder/") + name + "/features.npy");
        const ember::NpyArray features = ember::read_npy(features_path);
        // The streaming transcriber over the chunks `ember decode --streaming` cuts.
        const int64_t in = ember::chunk_input_frames(c), out = ember::chunk_output_rows(c);
        const int64_t chunks = ember::streaming_chunk_count(features, c);
        std::vector<float> frames(static_cast<size_t>(chunks * out * c.encoding_dim)), chunk;
        ember::TranscriberStream stream = ember::make_transcriber_stream(model);
        for (int64_t k = 0; k < chunks; ++k) {
            ember::fill_chunk(features, c, k, chunk);
            ember::transcribe_chunk(stream, {chunk.data(), in, c.input_dim, c.input_dim},
                                    {frames.data() + k * out * c.encoding_dim, out, c.encoding_dim, c.encoding_dim});
        }
        ember::Decoder decoder = ember::make_decoder(model, {4, 1.0f, 100});
        const std::vector<ember::Hypothesis> want =
            ember::search(decoder, {frames.data(), chunks * out, c.encoding_dim, c.encoding_dim}, nullptr);

        const auto result = ember::test::run_ember("decode " + decoder_fixture_path(name) + " --features " +
                                                   features_path + " --streaming --carry-beam --beam 4 --json");
        INFO(result.output);
        REQUIRE(result.exit_code == 0);
        const ember::JsonValue got = ember::parse_json(result.output, "ember decode output");
        const std::vector<ember::JsonValue>& per_chunk = got.object.at("chunks").array;
        REQUIRE(static_cast<int64_t>(per_chunk.size()) == chunks);
        const std::vector<ember::JsonValue>& last = per_chunk.back().object.at("hypotheses").array;
        REQUIRE(last.size() == want.size());
        for (size_t i = 0; i < want.size(); ++i) {
            std::vector<int64_t> tokens;
            for (const ember::JsonValue& t : last[i].object.at("tokens").array)
                tokens.push_back(static_cast<int64_t>(t.number));
            CHECK(tokens == want[i].tokens);
            CHECK(static_cast<float>(last[i].object.at("score").number) == want[i].score);
        }
        CHECK(want.front().tokens.size() > 1);
    }
}
