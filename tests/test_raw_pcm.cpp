// Raw PCM input (s16le, f32le): scaling, samples split across reads, and a
// stream that ends mid-sample.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "engine/error.h"
#include "engine/raw_pcm.h"

namespace {

using Bytes = std::vector<uint8_t>;
using Catch::Matchers::Contains;

Bytes s16_bytes(const std::vector<int16_t>& values) {
    Bytes b;
    for (int16_t v : values) {
        b.push_back(static_cast<uint16_t>(v) & 0xff);
        b.push_back(static_cast<uint16_t>(v) >> 8);
    }
    return b;
}

Bytes f32_bytes(const std::vector<float>& values) {
    Bytes b;
    for (float v : values) {
        uint32_t bits;
        std::memcpy(&bits, &v, 4);
        for (int i = 0; i < 4; ++i) b.push_back((bits >> (8 * i)) & 0xff);
    }
    return b;
}

std::vector<float> decode_whole(ember::RawFormat format, const Bytes& bytes) {
    ember::RawPcmDecoder d = ember::make_raw_pcm_decoder(format, "test input");
    std::vector<float> out;
    ember::raw_pcm_accept(d, bytes.data(), bytes.size(), out);
    ember::raw_pcm_finish(d);
    return out;
}

}  // namespace

TEST_CASE("raw_pcm: format names", "[raw_pcm]") {
    CHECK(ember::parse_raw_format("s16le") == ember::RawFormat::s16le);
    CHECK(ember::parse_raw_format("f32le") == ember::RawFormat::f32le);
    CHECK(std::string(ember::raw_format_name(ember::RawFormat::f32le)) == "f32le");
    CHECK(ember::raw_sample_bytes(ember::RawFormat::s16le) == 2);
    CHECK(ember::raw_sample_bytes(ember::RawFormat::f32le) == 4);
    REQUIRE_THROWS_WITH(ember::parse_raw_format("s16be"), Contains("'s16be'") && Contains("s16le or f32le"));
}

TEST_CASE("raw_pcm: s16le is x / 32768, f32le as is", "[raw_pcm]") {
    CHECK(decode_whole(ember::RawFormat::s16le, s16_bytes({-32768, 32767, 0, 1, -1, 16384})) ==
          std::vector<float>{-1.0f, 32767.0f / 32768, 0.0f, 1.0f / 32768, -1.0f / 32768, 0.5f});
    const std::vector<float> values = {0.25f, -1.5f, 1e-30f, 3.0f, -0.0f};
    CHECK(decode_whole(ember::RawFormat::f32le, f32_bytes(values)) == values);
    CHECK(decode_whole(ember::RawFormat::s16le, {}).empty());
}

TEST_CASE("raw_pcm: samples split across reads of any size", "[raw_pcm]") {
    std::mt19937 random(5);
    std::vector<int16_t> ints(1001);
    for (int16_t& v : ints) v = static_cast<int16_t>(random());
    std::vector<float> floats(777);
    for (float& v : floats) v = std::ldexp(static_cast<float>(random() % 2000000) - 1e6f, -20);
    for (auto format : {ember::RawFormat::s16le, ember::RawFormat::f32le}) {
        const Bytes bytes = format == ember::RawFormat::s16le ? s16_bytes(ints) : f32_bytes(floats);
        const std::vector<float> whole = decode_whole(format, bytes);
        for (size_t max_read : {1, 3, 5, 7, 64}) {
            INFO(ember::raw_format_name(format) << ", reads of up to " << max_read << " bytes");
            ember::RawPcmDecoder d = ember::make_raw_pcm_decoder(format, "stdin");
            std::vector<float> out;
            for (size_t at = 0; at < bytes.size();) {
                const size_t n = std::min(bytes.size() - at, static_cast<size_t>(random() % (max_read + 1)));
                ember::raw_pcm_accept(d, bytes.data() + at, n, out);
                // Every complete sample is out as soon as its last byte is in.
                at += n;
                REQUIRE(out.size() == at / static_cast<size_t>(ember::raw_sample_bytes(format)));
            }
            ember::raw_pcm_finish(d);
            REQUIRE(out == whole);
        }
    }
}

TEST_CASE("raw_pcm: a stream ending mid-sample is an error; finish resets", "[raw_pcm]") {
    ember::RawPcmDecoder d = ember::make_raw_pcm_decoder(ember::RawFormat::f32le, "standard input");
    std::vector<float> out;
    const Bytes bytes = f32_bytes({0.5f, 0.25f});
    ember::raw_pcm_accept(d, bytes.data(), 6, out);
    REQUIRE(out == std::vector<float>{0.5f});
    REQUIRE_THROWS_WITH(ember::raw_pcm_finish(d),
                        "standard input: f32le stream ends in the middle of a sample (2 of 4 bytes after 1 samples)");

    ember::RawPcmDecoder e = ember::make_raw_pcm_decoder(ember::RawFormat::s16le, "standard input");
    ember::raw_pcm_accept(e, bytes.data(), 4, out);
    ember::raw_pcm_finish(e);
    ember::raw_pcm_accept(e, bytes.data(), 1, out);
    REQUIRE_THROWS_WITH(ember::raw_pcm_finish(e), Contains("(1 of 2 bytes after 0 samples)"));
}

TEST_CASE("raw_pcm: non-finite f32le samples are errors naming the sample", "[raw_pcm]") {
    for (float bad : {NAN, INFINITY, -INFINITY}) {
        ember::RawPcmDecoder d = ember::make_raw_pcm_decoder(ember::RawFormat::f32le, "standard input");
        std::vector<float> out;
        const Bytes bytes = f32_bytes({0.5f, 0.25f, bad, 0.125f});
        REQUIRE_THROWS_WITH(ember::raw_pcm_accept(d, bytes.data(), bytes.size(), out),
                            Contains("standard input: f32le sample 2 is not a finite number"));
        CHECK(out == std::vector<float>{0.5f, 0.25f});  // the samples before it, nothing more
    }
    // The same when the bad sample is completed across two reads.
    ember::RawPcmDecoder d = ember::make_raw_pcm_decoder(ember::RawFormat::f32le, "standard input");
    std::vector<float> out;
    const Bytes bytes = f32_bytes({0.5f, NAN});
    ember::raw_pcm_accept(d, bytes.data(), 6, out);
    REQUIRE_THROWS_WITH(ember::raw_pcm_accept(d, bytes.data() + 6, 2, out), Contains("sample 1 is not a finite"));
    CHECK(out == std::vector<float>{0.5f});
}
