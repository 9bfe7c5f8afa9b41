// The WAV reader: every encoding against torchaudio.load's output (committed
// fixtures from tests/python/make_audio_fixtures.py), a crafted header for
// every error, and truncated or corrupted files that must give an
// ember::Error or a valid read, never a crash or a read past the buffer.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/npy.h"
#include "engine/wav.h"
#include "tests/test_support.h"

namespace {

using Bytes = std::vector<uint8_t>;
using Catch::Matchers::Contains;

constexpr const char* origin = "memory.wav";

Bytes read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Parses a heap copy of exactly `size` bytes, so that a read past the end is
// a read past the allocation (caught under ASan/valgrind).
ember::Audio parse(const Bytes& bytes, size_t size) {
    const Bytes copy(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size));
    return ember::parse_wav(copy.data(), copy.size(), origin);
}
ember::Audio parse(const Bytes& bytes) { return parse(bytes, bytes.size()); }

// Builds WAV files byte by byte, independently of the reader.
struct Builder {
    Bytes bytes;
    Builder& tag(const char* four) {
        bytes.insert(bytes.end(), four, four + 4);
        return *this;
    }
    Builder& u16(uint16_t v) {
        bytes.push_back(v & 0xff);
        bytes.push_back(v >> 8);
        return *this;
    }
    Builder& u32(uint32_t v) { return u16(v & 0xffff).u16(v >> 16); }
    Builder& raw(const Bytes& b) {
        bytes.insert(bytes.end(), b.begin(), b.end());
        return *this;
    }
};

struct Fmt {
    uint16_t tag = 1;
    uint16_t channels = 1;
    uint32_t rate = 16000;
    uint16_t bits = 16;
    int block_align = -1;  // -1: channels * bits / 8
    // WAVE_FORMAT_EXTENSIBLE (tag 0xFFFE) only:
    uint16_t extension_size = 22;
    uint16_t valid_bits = 16;
    uint16_t subformat = 1;
    bool standard_guid = true;
};

Bytes fmt_body(const Fmt& f) {
    const uint16_t align = f.block_align >= 0 ? static_cast<uint16_t>(f.block_align) : f.channels * f.bits / 8;
    Builder b;
    b.u16(f.tag).u16(f.channels).u32(f.rate).u32(f.rate * align).u16(align).u16(f.bits);
    if (f.tag == 0xFFFE) {
        b.u16(f.extension_size).u16(f.valid_bits).u32(0).u16(f.subformat);
        b.raw({0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B,
               static_cast<uint8_t>(f.standard_guid ? 0x71 : 0x72)});
    }
    return b.bytes;
}

Builder& chunk(Builder& b, const char* id, const Bytes& body) {
    b.tag(id).u32(static_cast<uint32_t>(body.size())).raw(body);
    if (body.size() % 2) b.bytes.push_back(0);
    return b;
}

// RIFF/WAVE around the given chunks.
Bytes wav(const Builder& chunks) {
    Builder b;
    b.tag("RIFF").u32(static_cast<uint32_t>(4 + chunks.bytes.size())).tag("WAVE").raw(chunks.bytes);
    return b.bytes;
}

Bytes simple_wav(const Fmt& f, const Bytes& data) {
    Builder c;
    chunk(c, "fmt ", fmt_body(f));
    chunk(c, "data", data);
    return wav(c);
}

Bytes s16(std::initializer_list<int16_t> values) {
    Builder b;
    for (int16_t v : values) b.u16(static_cast<uint16_t>(v));
    return b.bytes;
}

struct FixtureCase {
    const char* name;
    int64_t sample_rate;
    int64_t channels;
};

}  // namespace

TEST_CASE("wav: every encoding matches torchaudio.load(...).mean(0) exactly", "[wav]") {
    const FixtureCase cases[] = {
        {"pcm_u8_mono_16000", 16000, 1},           {"pcm_s16_stereo_16000", 16000, 2},
        {"pcm_s24_mono_16000", 16000, 1},          {"pcm_s32_mono_16000", 16000, 1},
        {"float32_mono_16000", 16000, 1},          {"float64_stereo_8000", 8000, 2},
        {"extensible_s24_6ch_48000", 48000, 6},    {"extensible_f32_stereo_44100", 44100, 2},
        {"list_odd_chunk_16000", 16000, 1},        {"streamed_stereo_16000", 16000, 2},
        {"truncated_stereo_16000", 16000, 2},      {"rf64_mono_16000", 16000, 1},
        {"torchaudio_s16_stereo_22050", 22050, 2}, {"sox_s16_6ch_22050", 22050, 6},
        {"float32_5ch_16000", 16000, 5},           {"float32_40ch_16000", 16000, 40},
    };
    for (const FixtureCase& c : cases) {
        INFO(c.name);
        const std::string base = ember::test::fixture(std::string("audio/") + c.name);
        const ember::Audio audio = ember::read_wav(base + ".wav");
        const ember::NpyArray expected = ember::read_npy(base + ".npy");
        CHECK(audio.sample_rate == c.sample_rate);
        CHECK(audio.channels == c.channels);
        REQUIRE(expected.shape == std::vector<int64_t>{static_cast<int64_t>(audio.samples.size())});
        // Same decoding and the same float32 order of the channel mean: bit for
        // bit, except that torch sums the last T % 32 frames in another order.
        const size_t frames = audio.samples.size();
        const size_t bulk = c.channels == 1 ? frames : frames - frames % 32;
        size_t mismatches = 0;
        double tail_error = 0;
        for (size_t i = 0; i < frames; ++i) {
            const double error = std::fabs(static_cast<double>(audio.samples[i]) - expected.values[i]);
            if (i < bulk) mismatches += error != 0;
            else tail_error = std::max(tail_error, error);
        }
        CHECK(mismatches == 0);
        CHECK(tail_error <= 2.5e-7);
    }
}

TEST_CASE("wav: sample scaling at the extremes", "[wav]") {
    SECTION("16-bit") {
        const ember::Audio a = parse(simple_wav(Fmt{}, s16({-32768, 32767, 0, 1, -1})));
        REQUIRE(a.samples == std::vector<float>{-1.0f, 32767.0f / 32768, 0.0f, 1.0f / 32768, -1.0f / 32768});
    }
    SECTION("8-bit unsigned") {
        Fmt f;
        f.bits = 8;
        const ember::Audio a = parse(simple_wav(f, {0, 255, 128, 129}));
        REQUIRE(a.samples == std::vector<float>{-1.0f, 127.0f / 128, 0.0f, 1.0f / 128});
    }
    SECTION("24-bit") {
        Fmt f;
        f.bits = 24;
        const ember::Audio a = parse(simple_wav(f, {0x00, 0x00, 0x80, 0xff, 0xff, 0x7f, 0x01, 0x00, 0x00, 0xff, 0xff, 0xff}));
        REQUIRE(a.samples == std::vector<float>{-1.0f, 8388607.0f / 8388608, 1.0f / 8388608, -1.0f / 8388608});
    }
    SECTION("32-bit: libsox's rounding to 25 bits and clip") {
        Fmt f;
        f.bits = 32;
        Builder d;
        for (uint32_t v : {0x80000000u, 0x7fffffffu, 0x7fffffbfu, 63u, 64u, 0xffffffbfu /* -65 */}) d.u32(v);
        const ember::Audio a = parse(simple_wav(f, d.bytes));
        const float step = 1.0f / 16777216;  // 2^-24
        REQUIRE(a.samples == std::vector<float>{-1.0f, 1.0f, 1.0f - step, 0.0f, step, -step});
    }
    SECTION("float: clipped to [-1, 1], infinities to full scale, NaN to -1") {
        Fmt f;
        f.tag = 3;
        f.bits = 32;
        Builder d;
        for (float v : {0.5f, 1.5f, -3.0f, INFINITY, -INFINITY, NAN}) {
            uint32_t bits;
            std::memcpy(&bits, &v, 4);
            d.u32(bits);
        }
        const ember::Audio a = parse(simple_wav(f, d.bytes));
        REQUIRE(a.samples == std::vector<float>{0.5f, 1.0f, -1.0f, 1.0f, -1.0f, -1.0f});
    }
    SECTION("channels averaged in float32: (a + b) / 2") {
        Fmt f;
        f.channels = 2;
        const ember::Audio a = parse(simple_wav(f, s16({32767, 32767, -32768, 0, 1, 2})));
        REQUIRE(a.channels == 2);
        REQUIRE(a.samples == std::vector<float>{32767.0f / 32768, -0.5f, 1.5f / 32768});
    }
}

TEST_CASE("wav: layout variants that read", "[wav]") {
    SECTION("unknown and odd-sized chunks before data are skipped, pad byte included") {
        Builder c;
        chunk(c, "JUNK", {1, 2, 3});
        chunk(c, "fmt ", fmt_body(Fmt{}));
        chunk(c, "LIST", {'a', 'b', 'c', 'd', 'e'});
        chunk(c, "data", s16({100, -100}));
        chunk(c, "id3 ", {9});  // after data: never looked at
        REQUIRE(parse(wav(c)).samples == std::vector<float>{100.0f / 32768, -100.0f / 32768});
    }
    SECTION("empty data chunk") {
        const ember::Audio a = parse(simple_wav(Fmt{}, {}));
        REQUIRE(a.samples.empty());
        REQUIRE(a.sample_rate == 16000);
    }
    SECTION("data size past the end of the file: the whole frames that are there") {
        Fmt f;
        f.channels = 2;
        Builder c;
        chunk(c, "fmt ", fmt_body(f));
        c.tag("data").u32(1000).raw(s16({8, 8, 16, 16})).raw({1, 2, 3});
        const ember::Audio a = parse(wav(c));
        REQUIRE(a.samples == std::vector<float>{8.0f / 32768, 16.0f / 32768});
        REQUIRE(a.missing_bytes == 1000 - 11);  // for the CLI's warning
    }
    SECTION("streamed: data size 0xFFFFFFFF") {
        Builder c;
        chunk(c, "fmt ", fmt_body(Fmt{}));
        c.tag("data").u32(0xFFFFFFFF).raw(s16({1, 2, 3}));
        Bytes bytes = wav(c);
        std::memset(bytes.data() + 4, 0xff, 4);  // RIFF size unknown too
        const ember::Audio a = parse(bytes);
        REQUIRE(a.samples.size() == 3);
        REQUIRE(a.missing_bytes == 0);  // its size is unknown, not wrong
    }
    SECTION("data size not a multiple of the frame: partial frame ignored") {
        Builder c;
        chunk(c, "fmt ", fmt_body(Fmt{}));
        chunk(c, "data", {1, 0, 2, 0, 3});
        REQUIRE(parse(wav(c)).samples == std::vector<float>{1.0f / 32768, 2.0f / 32768});
    }
    SECTION("RF64 with the data size in ds64") {
        Builder c;
        c.tag("ds64").u32(28).u32(0xFFFFFFFF).u32(0).u32(4).u32(0).u32(2).u32(0).u32(0);
        chunk(c, "fmt ", fmt_body(Fmt{}));
        c.tag("data").u32(0xFFFFFFFF).raw(s16({5, 6, 7}));  // ds64 says 4 bytes
        Builder b;
        b.tag("RF64").u32(0xFFFFFFFF).tag("WAVE").raw(c.bytes);
        REQUIRE(parse(b.bytes).samples == std::vector<float>{5.0f / 32768, 6.0f / 32768});
    }
    SECTION("extensible: fewer valid bits than the container, or 0 (unspecified)") {
        Fmt f;
        f.tag = 0xFFFE;
        f.bits = 24;
        f.valid_bits = 20;
        REQUIRE(parse(simple_wav(f, {0x00, 0x00, 0x40})).samples == std::vector<float>{0.5f});
        f.valid_bits = 0;
        REQUIRE(parse(simple_wav(f, {0x00, 0x00, 0x40})).samples == std::vector<float>{0.5f});
    }
    SECTION("any sample rate and many channels") {
        Fmt f;
        f.rate = 7;
        f.channels = 300;
        const ember::Audio a = parse(simple_wav(f, Bytes(300 * 2 * 3, 0)));
        REQUIRE(a.sample_rate == 7);
        REQUIRE(a.channels == 300);
        REQUIRE(a.samples.size() == 3);
    }
}

TEST_CASE("wav: malformed files give an ember::Error naming the origin and the problem", "[wav]") {
    auto fails_with = [](const Bytes& bytes, const std::string& text) {
        INFO(text);
        REQUIRE_THROWS_WITH(parse(bytes), Contains(origin) && Contains(text));
    };
    auto with_fmt = [&](const Fmt& f, const std::string& text) { fails_with(simple_wav(f, s16({1, 2})), text); };

    fails_with({}, "shorter than a RIFF header");
    fails_with({'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'A', 'V'}, "shorter than a RIFF header");
    fails_with({'O', 'g', 'g', 'S', 0, 0, 0, 0, 'W', 'A', 'V', 'E'}, "not a WAV file (no RIFF header)");
    fails_with({'R', 'I', 'F', 'X', 0, 0, 0, 0, 'W', 'A', 'V', 'E'}, "big-endian");
    fails_with({'R', 'I', 'F', 'F', 0, 0, 0, 0, 'A', 'V', 'I', ' '}, "not WAVE");
    fails_with({'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'A', 'V', 'E'}, "no fmt chunk");
    {
        Builder c;
        chunk(c, "data", s16({1}));
        chunk(c, "fmt ", fmt_body(Fmt{}));
        fails_with(wav(c), "data chunk comes before the fmt chunk");
    }
    {
        Builder c;
        chunk(c, "fmt ", fmt_body(Fmt{}));
        chunk(c, "LIST", {1, 2});
        fails_with(wav(c), "no data chunk");
    }
    {
        Builder c;
        chunk(c, "fmt ", fmt_body(Fmt{}));
        chunk(c, "fmt ", fmt_body(Fmt{}));
        chunk(c, "data", s16({1}));
        fails_with(wav(c), "two fmt chunks");
    }
    {
        Bytes body = fmt_body(Fmt{});
        body.resize(14);
        Builder c;
        chunk(c, "fmt ", body);
        chunk(c, "data", s16({1}));
        fails_with(wav(c), "fmt chunk of 14 bytes is too short");
    }
    {
        Builder c;
        c.tag("fmt ").u32(0x7fffffff).raw(fmt_body(Fmt{}));
        fails_with(wav(c), "chunk 'fmt ' of 2147483647 bytes at offset 12 runs past the end");
    }
    {
        Builder c;
        chunk(c, "fmt ", fmt_body(Fmt{}));
        c.tag("LIST").u32(0xfffffff0).raw({1, 2, 3, 4});
        fails_with(wav(c), "chunk 'LIST' of 4294967280 bytes");
    }

    Fmt f;
    f.channels = 0;
    f.block_align = 0;
    with_fmt(f, "0 channels");
    f = Fmt{};
    f.rate = 0;
    with_fmt(f, "sample rate of 0 Hz");
    f = Fmt{};
    f.bits = 12;
    f.block_align = 2;
    with_fmt(f, "PCM sample size of 12 bits");
    f.bits = 0;
    with_fmt(f, "PCM sample size of 0 bits");
    f = Fmt{};
    f.tag = 3;
    f.bits = 16;
    with_fmt(f, "float sample size of 16 bits");
    f = Fmt{};
    f.tag = 6;
    f.bits = 8;
    with_fmt(f, "format tag 0x6 (A-law)");
    f.tag = 0x55;
    with_fmt(f, "format tag 0x55 (MP3)");
    f = Fmt{};
    f.channels = 2;
    f.block_align = 2;
    with_fmt(f, "block_align of 2 bytes is inconsistent with 2 channels of 16 bits (expected 4)");
    f.block_align = 0;
    with_fmt(f, "block_align of 0 bytes");

    f = Fmt{};
    f.tag = 0xFFFE;
    f.extension_size = 10;
    with_fmt(f, "extension of 10 bytes is too short");
    f = Fmt{};
    f.tag = 0xFFFE;
    f.standard_guid = false;
    with_fmt(f, "not a standard KSDATAFORMAT_SUBTYPE GUID");
    f = Fmt{};
    f.tag = 0xFFFE;
    f.valid_bits = 20;
    with_fmt(f, "20 valid bits in a 16-bit container");
    f = Fmt{};
    f.tag = 0xFFFE;
    f.subformat = 3;
    f.bits = 32;
    f.valid_bits = 24;
    with_fmt(f, "float samples with 24 valid bits of 32");
    f = Fmt{};
    f.tag = 0xFFFE;
    f.subformat = 2;
    with_fmt(f, "format tag 0x2 (Microsoft ADPCM)");
    {
        Fmt e;
        e.tag = 0xFFFE;
        Bytes body = fmt_body(e);
        body.resize(30);
        Builder c;
        chunk(c, "fmt ", body);
        chunk(c, "data", s16({1}));
        fails_with(wav(c), "EXTENSIBLE fmt chunk of 30 bytes is too short (need 40)");
    }
    {
        Builder c;
        chunk(c, "fmt ", fmt_body(Fmt{}));
        c.tag("data").u32(0xFFFFFFFF).raw(s16({1}));
        Builder b;
        b.tag("RF64").u32(0xFFFFFFFF).tag("WAVE").raw(c.bytes);
        fails_with(b.bytes, "RF64 file has no ds64 chunk");
        Builder d;
        chunk(d, "ds64", Bytes(8, 0));
        d.raw(c.bytes);
        Builder e;
        e.tag("RF64").u32(0xFFFFFFFF).tag("WAVE").raw(d.bytes);
        fails_with(e.bytes, "ds64 chunk of 8 bytes is too short");
    }
}

TEST_CASE("wav: read_wav names the path of a missing or empty file", "[wav]") {
    REQUIRE_THROWS_WITH(ember::read_wav("/nonexistent/x.wav"), Contains("/nonexistent/x.wav"));
    const std::string empty = ember::test::scratch("empty.wav");
    std::ofstream(empty).close();
    REQUIRE_THROWS_WITH(ember::read_wav(empty), Contains(empty) && Contains("empty"));
}

TEST_CASE("wav: every truncation of a file is an error or a prefix of the full read", "[wav]") {
    for (const char* name : {"list_odd_chunk_16000", "extensible_s24_6ch_48000", "rf64_mono_16000",
                             "float64_stereo_8000"}) {
        INFO(name);
        const Bytes bytes = read_bytes(ember::test::fixture(std::string("audio/") + name + ".wav"));
        REQUIRE(!bytes.empty());
        const ember::Audio full = parse(bytes);
        size_t errors = 0, reads = 0;
        for (size_t size = 0; size < bytes.size(); ++size) {
            INFO("first " << size << " bytes");
            try {
                const ember::Audio part = parse(bytes, size);
                ++reads;
                REQUIRE(part.sample_rate == full.sample_rate);
                REQUIRE(part.channels == full.channels);
                REQUIRE(part.samples.size() <= full.samples.size());
                REQUIRE(std::equal(part.samples.begin(), part.samples.end(), full.samples.begin()));
            } catch (const ember::Error&) {
                ++errors;
            }
        }
        CHECK(errors > 0);  // cut in the header
        CHECK(reads > 0);   // cut in the data
    }
}

TEST_CASE("wav: random byte flips give an ember::Error or a sane read", "[wav]") {
    std::mt19937 random(1234);
    for (const char* name : {"extensible_s24_6ch_48000", "list_odd_chunk_16000", "float32_mono_16000"}) {
        const Bytes original = read_bytes(ember::test::fixture(std::string("audio/") + name + ".wav"));
        REQUIRE(original.size() > 64);
        for (int trial = 0; trial < 3000; ++trial) {
            Bytes bytes = original;
            const int flips = 1 + static_cast<int>(random() % 4);
            for (int i = 0; i < flips; ++i) {
                // Mostly in the headers, where the decisions are.
                const size_t at = random() % 2 ? random() % 80 : random() % bytes.size();
                bytes[at] ^= static_cast<uint8_t>(1u << (random() % 8));
            }
            const size_t size = random() % 4 ? bytes.size() : random() % bytes.size();
            INFO(name << " trial " << trial);
            try {
                const ember::Audio a = parse(bytes, size);
                REQUIRE(a.channels >= 1);
                REQUIRE(a.sample_rate >= 1);
                REQUIRE(a.samples.size() <= size);
                for (float x : a.samples) REQUIRE((std::isfinite(x) && x >= -1.0f && x <= 1.0f));
            } catch (const ember::Error&) {
            }
        }
    }
}
