#include "tools/recognize_file.h"

#include <algorithm>
#include <cstdio>

#include "tools/cli.h"

namespace ember::tools {

void feed_samples(Stream& stream, const float* samples, int64_t count, int64_t sample_rate,
                  const AfterChunk& after_chunk) {
    accept_waveform(stream, samples, count, sample_rate);
    while (is_ready(stream)) {
        const int64_t before = stream.chunks;
        decode(stream);
        if (after_chunk && stream.recognizer->options.streaming && stream.chunks != before && !stream.decoded_all)
            after_chunk(stream);
    }
}

RecognitionResult finish_stream(Stream& stream) {
    input_finished(stream);
    while (is_ready(stream)) decode(stream);
    return result(stream);
}

Audio read_wav_file(const std::string& path) {
    Audio audio = read_wav(path);
    if (audio.missing_bytes > 0) {
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%.2f",
                      static_cast<double>(audio.samples.size()) / static_cast<double>(audio.sample_rate));
        cli::warn(path + ": the WAV data chunk runs " + std::to_string(audio.missing_bytes) +
                  " bytes past the end of the file (cut short?); reading the " + seconds + " s that are there");
    }
    return audio;
}

RecognitionResult recognize_wav_file(const Recognizer& recognizer, const std::string& path,
                                     const AfterChunk& after_chunk) {
    cli::check_input_file(path);
    const Audio audio = read_wav_file(path);
    Stream stream = make_stream(recognizer);
    const int64_t piece = std::max<int64_t>(1, audio.sample_rate / 10);
    const int64_t total = static_cast<int64_t>(audio.samples.size());
    for (int64_t at = 0; at < total; at += piece)
        feed_samples(stream, audio.samples.data() + at, std::min(piece, total - at), audio.sample_rate, after_chunk);
    return finish_stream(stream);
}

}  // namespace ember::tools
