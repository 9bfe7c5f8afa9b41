#include "engine/raw_pcm.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/error.h"

namespace ember {
namespace {

// The sample at p, or false for a non-finite f32le value.
bool decode_sample(RawFormat format, const uint8_t* p, float& value) {
    if (format == RawFormat::s16le) {
        const int16_t x = static_cast<int16_t>(static_cast<uint16_t>(p[0] | p[1] << 8));
        value = static_cast<float>(x) * (1.0f / 32768.0f);
        return true;
    }
    const uint32_t bits = p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24;
    std::memcpy(&value, &bits, sizeof value);
    return std::isfinite(value);
}

[[noreturn]] void fail_not_finite(const RawPcmDecoder& d, const uint8_t* p) {
    float value;
    decode_sample(d.format, p, value);
    fail(d.origin, ": f32le sample ", d.decoded, " is not a finite number (", value, ")");
}

}  // namespace

RawFormat parse_raw_format(const std::string& name) {
    if (name == "s16le") return RawFormat::s16le;
    if (name == "f32le") return RawFormat::f32le;
    fail("unknown raw sample format '", name, "' (expected s16le or f32le)");
}

const char* raw_format_name(RawFormat format) { return format == RawFormat::s16le ? "s16le" : "f32le"; }

int64_t raw_sample_bytes(RawFormat format) { return format == RawFormat::s16le ? 2 : 4; }

RawPcmDecoder make_raw_pcm_decoder(RawFormat format, const std::string& origin) {
    RawPcmDecoder decoder;
    decoder.format = format;
    decoder.origin = origin;
    return decoder;
}

void raw_pcm_accept(RawPcmDecoder& d, const uint8_t* bytes, size_t n, std::vector<float>& out) {
    if (n == 0) return;
    if (bytes == nullptr) fail(d.origin, ": null buffer of ", n, " bytes");
    const size_t width = static_cast<size_t>(raw_sample_bytes(d.format));
    // Complete a sample split by the previous read.
    if (d.pending_count > 0) {
        const size_t take = std::min(n, width - static_cast<size_t>(d.pending_count));
        std::memcpy(d.pending + d.pending_count, bytes, take);
        d.pending_count += static_cast<int64_t>(take);
        bytes += take;
        n -= take;
        if (static_cast<size_t>(d.pending_count) < width) return;
        float value;
        if (!decode_sample(d.format, d.pending, value)) fail_not_finite(d, d.pending);
        out.push_back(value);
        ++d.decoded;
        d.pending_count = 0;
    }
    const size_t whole = n / width;
    const size_t at = out.size();
    out.resize(at + whole);
    for (size_t i = 0; i < whole; ++i) {
        if (!decode_sample(d.format, bytes + i * width, out[at + i])) {
            out.resize(at + i);  // keep only the samples decoded
            fail_not_finite(d, bytes + i * width);
        }
        ++d.decoded;
    }
    const size_t rest = n - whole * width;
    std::memcpy(d.pending, bytes + whole * width, rest);
    d.pending_count = static_cast<int64_t>(rest);
}

void raw_pcm_finish(RawPcmDecoder& d) {
    if (d.pending_count > 0)
        fail(d.origin, ": ", raw_format_name(d.format), " stream ends in the middle of a sample (", d.pending_count,
             " of ", raw_sample_bytes(d.format), " bytes after ", d.decoded, " samples)");
    d.decoded = 0;
}

}  // namespace ember
