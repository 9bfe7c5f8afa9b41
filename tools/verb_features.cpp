// ember features: audio (.wav or a float32 .npy waveform) -> the model's input
// features (.npy), as torchaudio's pipeline feature extractors compute them.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/npy.h"
#include "engine/resample.h"
#include "engine/wav.h"
#include "model/front_end.h"
#include "model/model.h"
#include "tools/cli.h"
#include "tools/recognize_file.h"
#include "tools/verbs.h"

namespace ember::verbs {

namespace {

const char* kUsage =
    "usage: ember features MODEL.ember --audio IN.wav --out OUT.npy [--streaming]\n\n"
    "Computes the features the model reads from audio, as torchaudio's EMFORMER_RNNT_BASE\n"
    "pipeline does (MelSpectrogram, piecewise-linear log, global-stats normalisation), with\n"
    "the front-end settings stored in MODEL.ember.\n\n"
    "  --audio IN         a WAV file (any rate: resampled to the model's; channels averaged),\n"
    "                     or a float32 .npy holding a 1-D waveform at the model's sample rate\n"
    "  --out OUT.npy      float32 (frames, n_mels): get_feature_extractor()'s output, with\n"
    "                     right_padding zero frames at the end\n"
    "  --streaming        diagnostic: the streaming extractor's features instead, segment after\n"
    "                     segment (segment k: samples [k*S, k*S + W) zero-padded, S =\n"
    "                     segment_length * hop, W = (segment_length + right_context_length) * hop),\n"
    "                     concatenated: (segments * frames per segment, n_mels)\n";

bool has_npy_extension(const std::string& path) {
    if (path.size() < 4) return false;
    std::string tail = path.substr(path.size() - 4);
    std::transform(tail.begin(), tail.end(), tail.begin(), [](unsigned char c) { return std::tolower(c); });
    return tail == ".npy";
}

// The waveform at the model's sample rate.
std::vector<float> read_audio(const std::string& path, int64_t sample_rate) {
    if (has_npy_extension(path)) {
        NpyArray array = read_npy(path);
        if (array.shape.size() != 1)
            fail(path, ": expected a 1-D waveform, got ", array.shape.size(), " dimensions");
        return std::move(array.values);
    }
    Audio audio = tools::read_wav_file(path);
    if (audio.sample_rate == sample_rate) return std::move(audio.samples);
    return resample(audio.samples.data(), int64_t(audio.samples.size()), audio.sample_rate, sample_rate);
}

// The streaming front end fed in pieces as audio arrives: (segments * frames, n_mels).
std::vector<float> streaming_features(const FrontEndConfig& front_end, const EmformerRnntConfig& config,
                                      const std::vector<float>& waveform, int64_t& rows) {
    StreamingFrontEnd stream =
        make_streaming_front_end(front_end, config.segment_length, config.right_context_length);
    std::vector<float> out;
    auto drain = [&]() {
        while (next_segment(stream)) out.insert(out.end(), stream.features.begin(), stream.features.end());
    };
    constexpr int64_t kPiece = 4096;  // samples handed over at a time, as a live source would
    const float* p = waveform.data();
    int64_t left = int64_t(waveform.size());
    while (left > 0) {
        const int64_t used = accept(stream, p, std::min(left, kPiece));
        p += used, left -= used;
        drain();
    }
    finish(stream);
    drain();
    rows = stream.segments * stream.frames;
    return out;
}

}  // namespace

int features(const Args& args) {
    const cli::ParsedArgs parsed =
        cli::parse_args(args, {{"--audio"}, {"--out", true, "-o"}, {"--streaming", false}});
    if (parsed.help) {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (parsed.positionals.size() != 1) throw cli::UsageError("expected one MODEL.ember argument");
    const std::string model_path = parsed.positionals[0];
    const std::string audio_path = parsed.required("--audio");
    const std::string out_path = parsed.required("--out");
    cli::check_input_file(model_path);
    cli::check_input_file(audio_path);
    cli::check_output_file(out_path);

    const Model model = load_model(model_path);
    if (!model.metadata.has_front_end)
        fail(model_path, ": the model has no front-end settings (sample rate, n_fft, hop, n_mels)");
    const FrontEndConfig& front_end = model.metadata.front_end;
    const std::vector<float> waveform = read_audio(audio_path, front_end.sample_rate);
    if (waveform.empty()) fail(audio_path, ": no audio: the waveform is empty");

    if (parsed.has("--streaming")) {
        int64_t rows = 0;
        const std::vector<float> out = streaming_features(front_end, model.config(), waveform, rows);
        write_npy(out_path, out.data(), {rows, front_end.n_mels});
    } else {
        const Features features = extract_features(front_end, waveform.data(), int64_t(waveform.size()));
        write_npy(out_path, features.values.data(), {features.frames, features.dim});
    }
    return 0;
}

}  // namespace ember::verbs
