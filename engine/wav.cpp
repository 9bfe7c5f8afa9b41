#include "engine/wav.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>

#include "engine/error.h"
#include "engine/mapped_file.h"

namespace ember {
namespace {

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
uint32_t le32(const uint8_t* p) { return le16(p) | static_cast<uint32_t>(le16(p + 2)) << 16; }
uint64_t le64(const uint8_t* p) { return le32(p) | static_cast<uint64_t>(le32(p + 4)) << 32; }

constexpr uint16_t format_pcm = 1;
constexpr uint16_t format_float = 3;
constexpr uint16_t format_extensible = 0xFFFE;
constexpr uint32_t size_unknown = 0xFFFFFFFF;  // streamed WAV; in RF64, "see ds64"

// Bytes 2..15 of KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT (bytes 0..1 hold the format code).
constexpr uint8_t subformat_guid_tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                             0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

enum class Encoding { u8, s16, s24, s32, f32, f64 };

struct WavFormat {
    Encoding encoding = Encoding::s16;
    int64_t channels = 0;
    int64_t sample_rate = 0;
    int64_t block_align = 0;  // bytes per frame
};

const char* format_tag_name(uint16_t tag) {
    switch (tag) {
        case 0x0002: return " (Microsoft ADPCM)";
        case 0x0006: return " (A-law)";
        case 0x0007: return " (mu-law)";
        case 0x0011: return " (IMA ADPCM)";
        case 0x0031: return " (GSM 6.10)";
        case 0x0050: return " (MPEG)";
        case 0x0055: return " (MP3)";
        default: return "";
    }
}

WavFormat parse_fmt(const uint8_t* p, uint64_t size, const std::string& origin) {
    if (size < 16) fail(origin, ": WAV fmt chunk of ", size, " bytes is too short (need 16)");
    const uint16_t tag = le16(p);
    WavFormat format;
    format.channels = le16(p + 2);
    format.sample_rate = le32(p + 4);
    format.block_align = le16(p + 12);
    const int container_bits = le16(p + 14);
    if (format.channels == 0) fail(origin, ": WAV declares 0 channels");
    if (format.sample_rate == 0) fail(origin, ": WAV declares a sample rate of 0 Hz");

    uint16_t code = tag;
    int valid_bits = container_bits;
    if (tag == format_extensible) {
        if (size < 40) fail(origin, ": WAVE_FORMAT_EXTENSIBLE fmt chunk of ", size, " bytes is too short (need 40)");
        const int extension_size = le16(p + 16);
        if (extension_size < 22)
            fail(origin, ": WAVE_FORMAT_EXTENSIBLE extension of ", extension_size, " bytes is too short (need 22)");
        valid_bits = le16(p + 18);
        if (valid_bits == 0) valid_bits = container_bits;  // "not specified"
        code = le16(p + 24);
        if (std::memcmp(p + 26, subformat_guid_tail, sizeof subformat_guid_tail) != 0)
            fail(origin, ": WAVE_FORMAT_EXTENSIBLE sub-format is not a standard KSDATAFORMAT_SUBTYPE GUID");
        if (valid_bits > container_bits)
            fail(origin, ": WAV declares ", valid_bits, " valid bits in a ", container_bits, "-bit container");
    }

    if (code == format_pcm) {
        switch (container_bits) {
            case 8: format.encoding = Encoding::u8; break;
            case 16: format.encoding = Encoding::s16; break;
            case 24: format.encoding = Encoding::s24; break;
            case 32: format.encoding = Encoding::s32; break;
            default: fail(origin, ": unsupported WAV PCM sample size of ", container_bits, " bits (supported: 8, 16, 24, 32)");
        }
    } else if (code == format_float) {
        if (container_bits != 32 && container_bits != 64)
            fail(origin, ": unsupported WAV float sample size of ", container_bits, " bits (supported: 32, 64)");
        if (valid_bits != container_bits)
            fail(origin, ": WAV float samples with ", valid_bits, " valid bits of ", container_bits, " are not supported");
        format.encoding = container_bits == 32 ? Encoding::f32 : Encoding::f64;
    } else {
        fail(origin, ": unsupported WAV encoding: format tag 0x", std::hex, code, std::dec, format_tag_name(code),
             "; only PCM and IEEE float are read");
    }

    const int64_t expected_align = format.channels * (container_bits / 8);
    if (format.block_align != expected_align)
        fail(origin, ": WAV block_align of ", format.block_align, " bytes is inconsistent with ", format.channels,
             " channels of ", container_bits, " bits (expected ", expected_align, ")");
    return format;
}

// libsox's SOX_SAMPLE_TO_FLOAT_32BIT, through which torchaudio reads every
// sample: round to 25 bits (ties upwards), clip near full scale.
float sox_sample_to_float(int64_t s) {
    if (s > INT32_MAX - 64) return 1.0f;
    return static_cast<float>(static_cast<double>((s + 64) & ~int64_t{127}) * (1.0 / 2147483648.0));
}

// libsox's SOX_FLOAT_64BIT_TO_SAMPLE: scale by 2^31, round half away from
// zero, clip to int32 (clamping before the conversion gives the same
// sample). NaN, undefined there, reads as full-scale negative as on x86.
// Branch-free on the sign: audio's signs are not predictable.
int64_t sox_float_to_sample(double d) {
    if (std::isnan(d)) return INT32_MIN;
    const double rounded = d * 2147483648.0 + std::copysign(0.5, d);
    return static_cast<int64_t>(std::min<double>(std::max<double>(rounded, INT32_MIN), INT32_MAX));
}

// One decoder per encoding: `bytes` per sample and its value. 8/16/24-bit
// samples are exact in float, where libsox's rounding changes nothing.
struct DecodeU8 {
    static constexpr int64_t bytes = 1;
    static float value(const uint8_t* p) { return static_cast<float>(p[0] - 128) * (1.0f / 128.0f); }
};
struct DecodeS16 {
    static constexpr int64_t bytes = 2;
    static float value(const uint8_t* p) { return static_cast<float>(static_cast<int16_t>(le16(p))) * (1.0f / 32768.0f); }
};
struct DecodeS24 {
    static constexpr int64_t bytes = 3;
    static float value(const uint8_t* p) {
        const int32_t x = static_cast<int32_t>(static_cast<uint32_t>(p[0] | p[1] << 8 | p[2] << 16) << 8) >> 8;
        return static_cast<float>(x) * (1.0f / 8388608.0f);
    }
};
struct DecodeS32 {
    static constexpr int64_t bytes = 4;
    static float value(const uint8_t* p) { return sox_sample_to_float(static_cast<int32_t>(le32(p))); }
};
struct DecodeF32 {
    static constexpr int64_t bytes = 4;
    static float value(const uint8_t* p) {
        const uint32_t bits = le32(p);
        float x;
        std::memcpy(&x, &bits, sizeof x);
        return sox_sample_to_float(sox_float_to_sample(x));
    }
};
struct DecodeF64 {
    static constexpr int64_t bytes = 8;
    static float value(const uint8_t* p) {
        const uint64_t bits = le64(p);
        double x;
        std::memcpy(&x, &bits, sizeof x);
        return sox_sample_to_float(sox_float_to_sample(x));
    }
};

// data (frames, channels) -> out (frames,): waveform.mean(0) in float32 as
// torch 1.13 computes it on the contiguous (C, T) tensor torchaudio.load
// returns (SumKernel.cpp, vectorized_outer_sum -> multi_row_sum): the
// channels added in order from zero, cascaded through four partial sums
// every 16 channels, then divided by C. (Torch sums the last T % 32 frames of
// each thread's block with four interleaved partial sums instead, so there it
// may differ from this by a rounding; the mean of a frame here depends on
// that frame alone.)
template <class Decode>
void average_channels(const uint8_t* data, int64_t frames, int64_t channels, float* out) {
    const float count = static_cast<float>(channels);
    const int64_t frame_bytes = channels * Decode::bytes;
    if (channels == 1) {
        for (int64_t f = 0; f < frames; ++f) out[f] = Decode::value(data + f * Decode::bytes);
        return;
    }
    if (channels < 16) {  // one level: a plain sum (the other levels add +0)
        for (int64_t f = 0; f < frames; ++f) {
            const uint8_t* frame = data + f * frame_bytes;
            float sum = 0.0f;
            for (int64_t c = 0; c < channels; ++c) sum += Decode::value(frame + c * Decode::bytes);
            out[f] = sum / count;
        }
        return;
    }
    for (int64_t f = 0; f < frames; ++f) {
        const uint8_t* frame = data + f * frame_bytes;
        float level[4] = {};  // torch's cascade levels (level_power 4 for C < 2^16)
        int64_t c = 0;
        while (c + 16 <= channels) {
            for (int64_t j = 0; j < 16; ++j, ++c) level[0] += Decode::value(frame + c * Decode::bytes);
            for (int j = 1; j < 4; ++j) {
                level[j] += level[j - 1];
                level[j - 1] = 0.0f;
                if ((c & (int64_t{15} << (4 * j))) != 0) break;
            }
        }
        for (; c < channels; ++c) level[0] += Decode::value(frame + c * Decode::bytes);
        out[f] = (((level[0] + level[1]) + level[2]) + level[3]) / count;
    }
}

void decode(const WavFormat& format, const uint8_t* data, int64_t frames, float* out) {
    switch (format.encoding) {
        case Encoding::u8: return average_channels<DecodeU8>(data, frames, format.channels, out);
        case Encoding::s16: return average_channels<DecodeS16>(data, frames, format.channels, out);
        case Encoding::s24: return average_channels<DecodeS24>(data, frames, format.channels, out);
        case Encoding::s32: return average_channels<DecodeS32>(data, frames, format.channels, out);
        case Encoding::f32: return average_channels<DecodeF32>(data, frames, format.channels, out);
        case Encoding::f64: return average_channels<DecodeF64>(data, frames, format.channels, out);
    }
}

}  // namespace

Audio parse_wav(const uint8_t* data, size_t size, const std::string& origin) {
    if (size < 12) fail(origin, ": not a WAV file: ", size, " bytes is shorter than a RIFF header");
    const bool rf64 = std::memcmp(data, "RF64", 4) == 0;
    if (std::memcmp(data, "RIFX", 4) == 0) fail(origin, ": big-endian WAV (RIFX) is not supported");
    if (!rf64 && std::memcmp(data, "RIFF", 4) != 0) fail(origin, ": not a WAV file (no RIFF header)");
    if (std::memcmp(data + 8, "WAVE", 4) != 0) fail(origin, ": RIFF file is not WAVE");

    bool have_format = false;
    WavFormat format;
    uint64_t rf64_data_size = 0;
    bool have_ds64 = false;
    uint64_t pos = 12;
    for (;;) {
        if (pos > size || size - pos < 8) {
            if (!have_format) fail(origin, ": WAV has no fmt chunk (", size, " bytes)");
            fail(origin, ": WAV has no data chunk (", size, " bytes)");
        }
        const uint8_t* id = data + pos;
        const uint64_t chunk_size = le32(data + pos + 4);
        const uint64_t body = pos + 8;
        const uint64_t left = size - body;

        if (std::memcmp(id, "data", 4) == 0) {
            if (!have_format) fail(origin, ": WAV data chunk comes before the fmt chunk");
            uint64_t data_size = chunk_size;
            if (rf64 && chunk_size == size_unknown) {
                if (!have_ds64) fail(origin, ": RF64 file has no ds64 chunk giving the data size");
                data_size = rf64_data_size;
            }
            // Streamed (0xFFFFFFFF) or cut short: read the whole frames that are there.
            Audio audio;
            if (data_size > left) {
                const bool streamed = rf64 ? data_size == UINT64_MAX : data_size == size_unknown;
                if (!streamed) audio.missing_bytes = data_size - left;
                data_size = left;
            }
            audio.sample_rate = format.sample_rate;
            audio.channels = format.channels;
            const int64_t frames = static_cast<int64_t>(data_size / static_cast<uint64_t>(format.block_align));
            audio.samples.resize(static_cast<size_t>(frames));
            decode(format, data + body, frames, audio.samples.data());
            return audio;
        }

        if (chunk_size > left)
            fail(origin, ": WAV chunk '", std::string(reinterpret_cast<const char*>(id), 4), "' of ", chunk_size,
                 " bytes at offset ", pos, " runs past the end of the file (", left, " bytes left)");
        if (std::memcmp(id, "fmt ", 4) == 0) {
            if (have_format) fail(origin, ": WAV has two fmt chunks");
            format = parse_fmt(data + body, chunk_size, origin);
            have_format = true;
        } else if (rf64 && std::memcmp(id, "ds64", 4) == 0) {
            if (chunk_size < 28) fail(origin, ": RF64 ds64 chunk of ", chunk_size, " bytes is too short (need 28)");
            rf64_data_size = le64(data + body + 8);
            have_ds64 = true;
        }
        pos = body + chunk_size + (chunk_size & 1);  // chunks are word-aligned
    }
}

Audio read_wav(const std::string& path) {
    const MappedFile file(path);
    return parse_wav(file.data(), file.size(), path);
}

}  // namespace ember
