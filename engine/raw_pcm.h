// Headerless PCM byte streams (`ember transcribe MODEL - --raw-format FORMAT`):
// mono little-endian samples, decoded to float as they arrive, in reads of
// any size. A sample split across two reads is completed by the next.
//
//     ember::RawPcmDecoder decoder = ember::make_raw_pcm_decoder(ember::RawFormat::s16le, "standard input");
//     raw_pcm_accept(decoder, bytes, n, samples);  // appends n / 2 floats, give or take a split sample
//     raw_pcm_finish(decoder);                     // throws if the stream ended mid-sample
//
// s16le: x / 32768. f32le: as is; NaN or infinity is an error (naming the
// sample's index), since nothing downstream can make sense of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ember {

enum class RawFormat { s16le, f32le };

// "s16le" or "f32le"; throws ember::Error naming the accepted names otherwise.
RawFormat parse_raw_format(const std::string& name);
const char* raw_format_name(RawFormat format);
int64_t raw_sample_bytes(RawFormat format);  // 2 or 4

struct RawPcmDecoder {
    RawFormat format = RawFormat::s16le;
    std::string origin;       // named in errors
    uint8_t pending[4] = {};  // bytes of a sample split across reads
    int64_t pending_count = 0;
    int64_t decoded = 0;      // samples decoded so far
};

RawPcmDecoder make_raw_pcm_decoder(RawFormat format, const std::string& origin);

// Decodes the next n bytes, appending each completed sample to `out`.
void raw_pcm_accept(RawPcmDecoder& decoder, const uint8_t* bytes, size_t n, std::vector<float>& out);

// Ends the stream: throws ember::Error if it stopped in the middle of a
// sample; otherwise resets the decoder for a new stream.
void raw_pcm_finish(RawPcmDecoder& decoder);

}  // namespace ember
