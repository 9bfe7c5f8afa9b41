// The audio front end (model/front_end.h) against committed torchaudio outputs
// (tests/fixtures/front_end/<case>/, written by
// tests/python/make_front_end_fixtures.py), the streaming front end's
// independence from how the waveform is split, and its refusals.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/npy.h"
#include "model/front_end.h"
#include "tests/test_support.h"
#include "tools/checkpoint/json.h"

namespace {

namespace fs = std::filesystem;

constexpr float kTolerance = 1e-3f;  // as the live parity test; the fixtures match to ~1e-5

struct FixtureCase {
    ember::FrontEndConfig config;
    int64_t segment_length = 0, right_context_length = 0;
    std::vector<float> waveform;
    ember::NpyArray expected, expected_streaming;
};

std::vector<float> floats(const ember::JsonValue& array) {
    std::vector<float> out;
    for (const ember::JsonValue& v : array.array) out.push_back(float(v.number));
    return out;
}

FixtureCase load_case(const fs::path& dir) {
    const ember::JsonValue json = ember::read_json_file((dir / "config.json").string());
    const auto integer = [&](const char* key) { return int64_t(json.object.at(key).number); };
    FixtureCase c;
    c.config.sample_rate = integer("sample_rate");
    c.config.n_fft = integer("n_fft");
    c.config.hop_length = integer("hop_length");
    c.config.n_mels = integer("n_mels");
    c.config.right_padding = integer("right_padding");
    if (json.object.count("mean")) {
        c.config.global_mean = floats(json.object.at("mean"));
        c.config.global_invstddev = floats(json.object.at("invstddev"));
    }
    c.segment_length = integer("segment_length");
    c.right_context_length = integer("right_context_length");
    c.waveform = ember::read_npy((dir / "waveform.npy").string()).values;
    c.expected = ember::read_npy((dir / "expected.npy").string());
    c.expected_streaming = ember::read_npy((dir / "expected_streaming.npy").string());
    return c;
}

// Largest |got - expected|; NaN counts as infinitely far.
float max_abs_diff(const std::vector<float>& got, const std::vector<float>& expected) {
    float worst = 0.0f;
    for (size_t i = 0; i < got.size(); ++i) {
        const float d = std::fabs(got[i] - expected[i]);
        worst = std::isnan(d) ? std::numeric_limits<float>::infinity() : std::max(worst, d);
    }
    return worst;
}

// Feeds the waveform in pieces of the sizes `next_piece` returns; returns the
// concatenated segment features.
template <class NextPiece>
std::vector<float> stream_in_pieces(ember::StreamingFrontEnd& stream, const std::vector<float>& waveform,
                                    NextPiece next_piece) {
    std::vector<float> out;
    auto drain = [&]() {
        while (ember::next_segment(stream)) out.insert(out.end(), stream.features.begin(), stream.features.end());
    };
    const float* p = waveform.data();
    int64_t left = int64_t(waveform.size());
    while (left > 0) {
        int64_t piece = std::min(left, next_piece());
        while (piece > 0) {
            const int64_t used = ember::accept(stream, p, piece);
            p += used, left -= used, piece -= used;
            drain();
        }
    }
    ember::finish(stream);
    drain();
    return out;
}

}  // namespace

TEST_CASE("extract_features and the streaming front end match torchaudio's extractors", "[front_end]") {
    const std::vector<std::string> cases = ember::test::fixture_cases("front_end");
    REQUIRE(cases.size() >= 2);
    for (const fs::path dir : cases) {
        INFO("case " << dir.filename().string());
        const FixtureCase c = load_case(dir);
        const int64_t n = int64_t(c.waveform.size());

        const ember::Features features = ember::extract_features(c.config, c.waveform.data(), n);
        REQUIRE(c.expected.shape == std::vector<int64_t>{features.frames, features.dim});
        CHECK(features.frames == ember::feature_frames(c.config, n) + c.config.right_padding);
        const float worst = max_abs_diff(features.values, c.expected.values);
        INFO("non-streaming max abs diff " << worst);
        CHECK(worst <= kTolerance);

        ember::StreamingFrontEnd stream =
            ember::make_streaming_front_end(c.config, c.segment_length, c.right_context_length);
        const std::vector<float> streamed = stream_in_pieces(stream, c.waveform, [n] { return n; });
        const int64_t S = stream.segment_samples;
        CHECK(stream.segments == (n + S - 1) / S);
        REQUIRE(c.expected_streaming.shape == std::vector<int64_t>{stream.segments * stream.frames, c.config.n_mels});
        const float worst_streaming = max_abs_diff(streamed, c.expected_streaming.values);
        INFO("streaming max abs diff " << worst_streaming);
        CHECK(worst_streaming <= kTolerance);
    }
}

TEST_CASE("streaming segments are the segment extractor on zero-padded windows, however the input is split",
          "[front_end]") {
    for (const fs::path dir : ember::test::fixture_cases("front_end")) {
        INFO("case " << dir.filename().string());
        const FixtureCase c = load_case(dir);
        ember::StreamingFrontEnd stream =
            ember::make_streaming_front_end(c.config, c.segment_length, c.right_context_length);
        const int64_t n = int64_t(c.waveform.size());
        const std::vector<float> whole = stream_in_pieces(stream, c.waveform, [n] { return n; });

        // Segment k by itself: samples [k S, k S + W), zero-padded.
        const int64_t S = stream.segment_samples, W = stream.window_samples;
        std::vector<float> direct;
        for (int64_t start = 0; start < n; start += S) {
            std::vector<float> window(static_cast<size_t>(W), 0.0f);
            std::copy(c.waveform.begin() + start, c.waveform.begin() + std::min(n, start + W), window.begin());
            const ember::Features f = ember::extract_segment_features(c.config, window.data(), W);
            CHECK(f.frames == stream.frames);
            direct.insert(direct.end(), f.values.begin(), f.values.end());
        }
        CHECK(whole == direct);

        std::mt19937 rng(99);
        for (int64_t max_piece : {1, 7, 160, 1000, 5000}) {
            INFO("pieces of up to " << max_piece << " samples");
            std::uniform_int_distribution<int64_t> size(0, max_piece);
            ember::reset(stream);
            CHECK(stream_in_pieces(stream, c.waveform, [&] { return size(rng); }) == whole);
        }
    }
}

TEST_CASE("short and empty audio are refused with a clear error", "[front_end]") {
    ember::FrontEndConfig config;  // 16 kHz, n_fft 400: reflect padding needs more than 200 samples
    const std::vector<float> samples(201, 0.25f);
    CHECK_THROWS_WITH(ember::extract_features(config, samples.data(), 0), Catch::Contains("empty"));
    CHECK_THROWS_WITH(ember::extract_features(config, samples.data(), 200),
                      Catch::Contains("too short") && Catch::Contains("200"));
    CHECK_THROWS_WITH(ember::extract_segment_features(config, samples.data(), 150), Catch::Contains("too short"));
    CHECK(ember::feature_frames(config, 200) == 0);

    const ember::Features shortest = ember::extract_features(config, samples.data(), 201);
    CHECK(shortest.frames == 2 + config.right_padding);
    CHECK(shortest.dim == config.n_mels);

    // A stream zero-pads its segments: any non-empty input works, an empty one yields nothing.
    ember::StreamingFrontEnd stream = ember::make_streaming_front_end(config, 16, 4);
    ember::finish(stream);
    CHECK_FALSE(ember::next_segment(stream));
    CHECK_THROWS_WITH(ember::accept(stream, samples.data(), 1), Catch::Contains("after finish"));
    ember::reset(stream);
    CHECK(ember::accept(stream, samples.data(), 1) == 1);
    ember::finish(stream);
    CHECK(ember::next_segment(stream));
    CHECK_FALSE(ember::next_segment(stream));

    // Segments shorter than the reflect padding: (1 + 0) * 160 <= 200.
    CHECK_THROWS_WITH(ember::make_streaming_front_end(config, 1, 0), Catch::Contains("too short"));
    CHECK_THROWS_AS(ember::make_streaming_front_end(config, 0, 4), ember::Error);
}

TEST_CASE("front-end settings torchaudio would reject are refused", "[front_end]") {
    ember::FrontEndConfig config;
    config.n_mels = 0;
    CHECK_THROWS_WITH(ember::make_front_end(config), Catch::Contains("n_mels"));
    config = {};
    config.hop_length = -1;
    CHECK_THROWS_WITH(ember::make_front_end(config), Catch::Contains("hop_length"));
    config = {};
    config.global_mean.assign(80, 0.0f);
    config.global_invstddev.assign(79, 1.0f);
    CHECK_THROWS_WITH(ember::make_front_end(config), Catch::Contains("invstddev"));
}
