// Test-only: a WAV file -> mono float32 .npy, as ember reads it, for the live
// torchaudio comparison in tests/python/test_audio_parity.py.
//
//     ember_wav_dump IN.wav OUT.npy [--rate R [--stream SEED]]
//
// --rate resamples to R Hz; --stream does it with a ResampleStream fed pieces
// of pseudo-random sizes (1 to 5000 samples) drawn from SEED. Prints the sample
// rate and channel count. Exit codes: 0 success, 1 ember::Error (message on
// standard error), 2 usage.
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/npy.h"
#include "engine/resample.h"
#include "engine/wav.h"

namespace {

int usage() {
    std::fprintf(stderr, "usage: ember_wav_dump IN.wav OUT.npy [--rate R [--stream SEED]]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3 && argc != 5 && argc != 7) return usage();
    int64_t rate = 0;
    bool stream = false;
    unsigned seed = 0;
    for (int i = 3; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--rate") {
            rate = std::atoll(argv[i + 1]);
        } else if (flag == "--stream") {
            stream = true;
            seed = static_cast<unsigned>(std::atoll(argv[i + 1]));
        } else {
            return usage();
        }
    }
    if ((argc > 3 && rate <= 0) || (stream && argc != 7)) return usage();
    try {
        const ember::Audio audio = ember::read_wav(argv[1]);
        std::vector<float> out = audio.samples;
        const int64_t n = static_cast<int64_t>(audio.samples.size());
        if (rate > 0 && !stream) out = ember::resample(audio.samples.data(), n, audio.sample_rate, rate);
        if (stream) {
            out.clear();
            ember::ResampleStream s = ember::make_resample_stream(audio.sample_rate, rate);
            std::mt19937 random(seed);
            for (int64_t at = 0; at < n;) {
                const int64_t piece = std::min<int64_t>(n - at, 1 + static_cast<int64_t>(random() % 5000));
                ember::resample_accept(s, audio.samples.data() + at, piece, out);
                at += piece;
            }
            ember::resample_finish(s, out);
        }
        ember::write_npy(argv[2], out.data(), {static_cast<int64_t>(out.size())});
        std::printf("%lld %lld\n", static_cast<long long>(audio.sample_rate), static_cast<long long>(audio.channels));
        return 0;
    } catch (const ember::Error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
