// WAV files (RIFF/WAVE and RF64), read to mono float32 the way
// `torchaudio.load(path)[0].mean(0)` does with torchaudio 0.13.1 (sox_io
// backend, normalize=True).
//
//     ember::Audio audio = ember::read_wav("speech.wav");  // throws ember::Error
//     // audio.samples: one float per frame, audio.sample_rate in Hz
//
// Encodings: PCM 8 (unsigned), 16, 24 and 32 bits; IEEE float 32 and 64;
// WAVE_FORMAT_EXTENSIBLE with a PCM or IEEE float sub-format (valid bits may
// be fewer than the container's: the samples are MSB-aligned, so they are
// scaled by the container). Any channel count and sample rate.
//
// Values are those of torchaudio, which reads every sample through libsox's
// 32-bit integer: 8/16/24-bit PCM scale exactly ((x - 128) / 128, x / 2^15,
// x / 2^23); 32-bit PCM is x / 2^31 rounded to a multiple of 2^-24 (ties
// upwards) and 1.0 for x > 2^31 - 65; float samples are clipped to [-1, 1]
// (NaN reads as -1) and rounded to a multiple of 2^-24, i.e. within 6e-8 of
// the stored value. Channels are averaged as `waveform.mean(0)` is in
// float32, with torch's order of additions for the bulk of a file (in channel
// order, cascaded every 16 channels; see wav.cpp), then divided by the
// channel count.
//
// Layout: RIFF chunks are walked in order (an odd-sized chunk is followed by a
// pad byte), unknown chunks are skipped, `fmt ` must come before `data`, and
// reading stops at the first `data` chunk. The RIFF size field is not checked
// (streaming writers leave it 0 or 0xFFFFFFFF). A `data` size of 0xFFFFFFFF
// (streamed WAV) or one that runs past the end of the file reads the whole
// frames that are there, as torchaudio does (the shortfall of a file cut short
// is in Audio::missing_bytes, for callers to warn about); a trailing partial
// frame is ignored. Errors (ember::Error naming the origin): not RIFF/WAVE, truncated
// headers, no `fmt ` or `data` chunk, a chunk before `data` that runs past the
// end, zero channels or sample rate, unsupported encodings or bit depths, and
// block_align != channels * bytes per sample.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ember {

struct Audio {
    int64_t sample_rate = 0;     // Hz
    int64_t channels = 0;        // in the file; samples are already averaged to mono
    std::vector<float> samples;  // (frames,): mono, channels averaged
    // Bytes the `data` chunk declares beyond the end of the file: nonzero for
    // a file cut short (not for a streamed WAV, whose size is unknown).
    uint64_t missing_bytes = 0;
};

// Maps the file and parses it; errors name the path.
Audio read_wav(const std::string& path);

// Parses `size` bytes of a WAV file; errors name `origin`. Never reads outside
// [data, data + size).
Audio parse_wav(const uint8_t* data, size_t size, const std::string& origin);

}  // namespace ember
