// Feeding audio to a recognizer stream the way live audio arrives; shared by
// `ember transcribe` and `ember eval`.
#pragma once

#include <functional>
#include <string>

#include "engine/wav.h"
#include "model/recognizer.h"

namespace ember::tools {

// Called after each streaming chunk is decoded (not for the final decode).
using AfterChunk = std::function<void(const Stream&)>;

// Gives `count` samples to the stream and decodes every chunk they complete.
void feed_samples(Stream& stream, const float* samples, int64_t count, int64_t sample_rate,
                  const AfterChunk& after_chunk);

// Ends the input and decodes the rest: the final result.
RecognitionResult finish_stream(Stream& stream);

// read_wav, warning on standard error when the file is cut short (its data
// chunk declares more bytes than are there; the part that is there is read,
// as torchaudio reads it).
Audio read_wav_file(const std::string& path);

// A WAV file through a fresh stream in pieces of about 100 ms. Throws
// ember::Error for a missing or unreadable file.
RecognitionResult recognize_wav_file(const Recognizer& recognizer, const std::string& path,
                                     const AfterChunk& after_chunk = nullptr);

}  // namespace ember::tools
