// The resampler against torchaudio.functional.resample (committed outputs from
// tests/python/make_audio_fixtures.py), and the streaming resampler against
// the whole-signal one: bit for bit, whatever the pieces.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/npy.h"
#include "engine/resample.h"
#include "tests/test_support.h"

namespace {

using Catch::Matchers::Contains;

std::vector<float> noise(int64_t n, unsigned seed) {
    std::mt19937 random(seed);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = uniform(random);
    return x;
}

// Feeds x to a fresh stream in pieces of random sizes (0 included) up to max_piece.
std::vector<float> stream_in_pieces(ember::ResampleStream& s, const std::vector<float>& x, int64_t max_piece,
                                    std::mt19937& random) {
    std::vector<float> out;
    const int64_t n = static_cast<int64_t>(x.size());
    for (int64_t at = 0; at < n;) {
        const int64_t piece = std::min<int64_t>(n - at, static_cast<int64_t>(random() % (max_piece + 1)));
        ember::resample_accept(s, x.data() + at, piece, out);
        at += piece;
    }
    ember::resample_finish(s, out);
    return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

}  // namespace

TEST_CASE("resample: matches torchaudio.functional.resample", "[resample]") {
    for (int64_t rate : {22050, 44100, 48000, 8000, 16000, 11025, 32000}) {
        INFO(rate << " Hz -> 16000 Hz");
        const std::string dir = ember::test::fixture("audio/");
        const ember::NpyArray x = ember::read_npy(dir + "resample_in_" + std::to_string(rate) + ".npy");
        const ember::NpyArray expected =
            ember::read_npy(dir + "resample_" + std::to_string(rate) + "_to_16000.npy");
        const int64_t n = static_cast<int64_t>(x.values.size());
        const std::vector<float> got = ember::resample(x.values.data(), n, rate, 16000);
        REQUIRE(static_cast<int64_t>(got.size()) == ember::resampled_length(n, rate, 16000));
        REQUIRE(got.size() == expected.values.size());
        double max_error = 0;
        for (size_t i = 0; i < got.size(); ++i)
            max_error = std::max(max_error, std::fabs(static_cast<double>(got[i]) - expected.values[i]));
        INFO("max abs error " << max_error);
        CHECK(max_error <= 1e-5);  // measured: <= 3e-7 (float32 summation order, sin/cos ulps)
        if (rate == 16000) CHECK(max_error == 0);  // equal rates copy

        ember::ResampleStream s = ember::make_resample_stream(rate, 16000);
        std::mt19937 random(static_cast<unsigned>(rate));
        CHECK(same_bits(stream_in_pieces(s, x.values, 700, random), got));
    }
}

TEST_CASE("resample: streaming equals whole-signal bit for bit, for any pieces", "[resample]") {
    const int64_t pairs[][2] = {{44100, 16000}, {22050, 16000}, {48000, 16000}, {8000, 16000}, {16000, 8000},
                                {11025, 16000}, {16000, 44100}, {44100, 48000}, {7, 3},         {1, 5},
                                {44101, 16000}, {16000, 16000}, {96000, 16000}, {12345, 16000}};
    std::mt19937 random(42);
    for (const auto& pair : pairs) {
        for (int64_t n : {0, 1, 2, 37, 1000, 20011}) {
            INFO(pair[0] << " -> " << pair[1] << ", " << n << " samples");
            const std::vector<float> x = noise(n, static_cast<unsigned>(n + pair[0]));
            const std::vector<float> whole = ember::resample(x.data(), n, pair[0], pair[1]);
            REQUIRE(static_cast<int64_t>(whole.size()) == ember::resampled_length(n, pair[0], pair[1]));
            ember::ResampleStream s = ember::make_resample_stream(pair[0], pair[1]);
            for (int64_t max_piece : {1, 3, 160, 5000, 100000}) {
                INFO("pieces of up to " << max_piece);
                // finish() resets the stream: the same stream serves every run.
                REQUIRE(same_bits(stream_in_pieces(s, x, max_piece, random), whole));
            }
        }
    }
}

TEST_CASE("resample: a stream emits each output as soon as its window has arrived", "[resample]") {
    for (const auto& pair : {std::pair<int64_t, int64_t>{44100, 16000}, {8000, 16000}, {48000, 16000}, {7, 3}}) {
        INFO(pair.first << " -> " << pair.second);
        const ember::ResampleFilter f = ember::make_resample_filter(pair.first, pair.second);
        ember::ResampleStream s = ember::make_resample_stream(pair.first, pair.second);
        const std::vector<float> x = noise(3000, 7);
        std::vector<float> out;
        for (int64_t m = 1; m <= 3000; ++m) {
            ember::resample_accept(s, x.data() + m - 1, 1, out);
            // Output j needs input up to about j * orig / new + width: the
            // stream never lags by more than that, and never runs ahead.
            const int64_t emitted = static_cast<int64_t>(out.size());
            REQUIRE(emitted <= ember::resampled_length(m, pair.first, pair.second));
            REQUIRE(emitted >= ember::resampled_length(std::max<int64_t>(0, m - f.width - 1), pair.first, pair.second));
        }
    }
}

TEST_CASE("resample: short and empty input", "[resample]") {
    CHECK(ember::resample(nullptr, 0, 44100, 16000).empty());  // torch raises on empty input
    CHECK(ember::resample(nullptr, 0, 16000, 16000).empty());
    ember::ResampleStream s = ember::make_resample_stream(44100, 16000);
    std::vector<float> out;
    ember::resample_finish(s, out);
    CHECK(out.empty());

    // torchaudio.functional.resample(torch.tensor([0.5]), orig, new)
    const float half = 0.5f;
    struct Case {
        int64_t orig, new_;
        std::vector<float> expected;
    };
    for (const Case& c : {Case{44100, 16000, {0.1795918345451355f}}, Case{8000, 16000, {0.495f, 0.3129555284976959f}},
                          Case{16000, 44100, {0.495f, 0.39294570684432983f, 0.16378337144851685f}},
                          Case{3, 1, {0.16500000655651093f}}}) {
        INFO(c.orig << " -> " << c.new_);
        const std::vector<float> y = ember::resample(&half, 1, c.orig, c.new_);
        REQUIRE(y.size() == c.expected.size());
        for (size_t i = 0; i < y.size(); ++i) CHECK(y[i] == Approx(c.expected[i]).margin(1e-6));
    }
}

TEST_CASE("resample: output lengths are ceil(new * n / orig) after the gcd", "[resample]") {
    CHECK(ember::resampled_length(0, 44100, 16000) == 0);
    CHECK(ember::resampled_length(1, 44100, 16000) == 1);
    CHECK(ember::resampled_length(441, 44100, 16000) == 160);
    CHECK(ember::resampled_length(442, 44100, 16000) == 161);
    CHECK(ember::resampled_length(1, 8000, 16000) == 2);
    CHECK(ember::resampled_length(158760000, 44100, 16000) == 57600000);  // one hour
    CHECK(ember::resampled_length(5, 16000, 16000) == 5);
}

TEST_CASE("resample: rates out of range and bad arguments are errors", "[resample]") {
    const float x[2] = {0, 0};
    REQUIRE_THROWS_WITH(ember::resample(x, 2, 0, 16000), Contains("rates 0 Hz -> 16000 Hz") && Contains("[1, 1000000]"));
    REQUIRE_THROWS_WITH(ember::resample(x, 2, 16000, -5), Contains("-5 Hz"));
    REQUIRE_THROWS_WITH(ember::make_resample_stream(2000000, 16000), Contains("2000000"));
    REQUIRE_THROWS_WITH(ember::resample(x, -1, 16000, 8000), Contains("negative input length"));
    REQUIRE_THROWS_WITH(ember::resample(nullptr, 2, 16000, 8000), Contains("null input"));
    REQUIRE_THROWS_WITH(ember::resampled_length(INT64_MAX / 2, 1, 160), Contains("too long"));
}

TEST_CASE("resample: rate pairs with a large reduced ratio stay small and fast", "[resample]") {
    // 44101 -> 16000 has no common factor: torch's dense kernel would hold
    // 16000 x 44135 floats (2.8 GB); the taps torch does not clamp are ~12 per
    // 16000/44101 input sample.
    const ember::ResampleFilter f = ember::make_resample_filter(44101, 16000);
    CHECK(f.new_ == 16000);
    CHECK(f.orig == 44101);
    CHECK(f.taps.size() < 13 * 44101);
    const ember::ResampleFilter up = ember::make_resample_filter(16000, 384000 - 1);
    CHECK(up.taps.size() < 13 * 383999);
    const ember::ResampleFilter edge = ember::make_resample_filter(ember::max_resample_rate, ember::max_resample_rate - 1);
    CHECK(edge.taps.size() < 13 * ember::max_resample_rate);
}

TEST_CASE("resample: accepting pieces reuses the stream's buffer", "[resample]") {
    ember::ResampleStream s = ember::make_resample_stream(44100, 16000);
    const std::vector<float> x = noise(100000, 3);
    std::vector<float> out;
    out.reserve(50000);
    const float* buffer = s.buffer.data();
    const size_t capacity = s.buffer.size();
    for (int64_t at = 0; at + 441 <= 100000; at += 441) ember::resample_accept(s, x.data() + at, 441, out);
    ember::resample_accept(s, x.data(), 30000, out);  // one piece larger than the buffer
    CHECK(s.buffer.data() == buffer);
    CHECK(s.buffer.size() == capacity);
    CHECK(out.capacity() == 50000);
}
