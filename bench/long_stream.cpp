// One long stream (issue 7): an hour of speech-like audio through one
// ember::Stream, in 160 ms pieces as a live caller feeds it. The audio is
// generated, or a recording (--wav, e.g. made with espeak-ng) played over and
// over, which a trained model transcribes as speech. Every simulated minute
// it reads the resident set and the CPU time spent per transcriber chunk. It
// fails (exit 1) when the resident set grows more than 5 MB past the first
// minute (the warm-up), not counting the transcript kept, or chunks of the
// last ten minutes take more than 1.25x (--max-slowdown) the time of those of
// the first ten after the warm-up.
//
//     ember_long_stream --model MODEL.ember [--minutes 60] [--beam 10] [--wav SPEECH.wav] [--max-slowdown 1.25]
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/wav.h"
#include "model/model.h"
#include "model/recognizer.h"

namespace {

constexpr int64_t kRate = 16000;           // of the generated audio
constexpr int64_t kPiecesPerMinute = 375;  // of 160 ms
constexpr double kMaxRssGrowthMb = 5.0;
constexpr double kPi = 3.14159265358979323846;

// Speech-like audio without a recording: a pulse train at a drifting pitch
// through two formant resonators, in segments of 60-250 ms that are vowels
// (formants of a random vowel), fricatives (noise) or pauses, each with a
// smooth loudness envelope. Deterministic; never repeats.
struct Voice {
    std::mt19937 rng{1};
    int64_t left = 0, length = 1;  // samples left in the segment, and its length
    enum class Sound { vowel, fricative, pause } sound = Sound::vowel;
    double pitch = 120.0, phase = 0.0;
    double a1[2] = {}, a2[2] = {}, y1[2] = {}, y2[2] = {};  // two resonators: y = x + a1 y1 + a2 y2
    double last = 0.0;                                       // their summed output, one sample back
};

void set_resonator(Voice& v, int i, double hz, double bandwidth_hz) {
    const double r = std::exp(-kPi * bandwidth_hz / kRate);
    v.a1[i] = 2.0 * r * std::cos(2.0 * kPi * hz / kRate);
    v.a2[i] = -r * r;
}

void next_segment(Voice& v) {
    static const double kVowels[][2] = {{730, 1090}, {270, 2290}, {300, 870}, {530, 1840}, {570, 840}, {660, 1720}};
    const double u = std::uniform_real_distribution<double>(0, 1)(v.rng);
    v.sound = u < 0.7 ? Voice::Sound::vowel : u < 0.85 ? Voice::Sound::fricative : Voice::Sound::pause;
    v.length = v.left = std::uniform_int_distribution<int64_t>(kRate * 60 / 1000, kRate * 250 / 1000)(v.rng);
    const double* f = kVowels[std::uniform_int_distribution<int>(0, 5)(v.rng)];
    const bool noise = v.sound == Voice::Sound::fricative;
    set_resonator(v, 0, noise ? 3500 : f[0], noise ? 1500 : 90);
    set_resonator(v, 1, noise ? 5500 : f[1], noise ? 2000 : 120);
    v.pitch = std::clamp(v.pitch + std::normal_distribution<double>(0, 15)(v.rng), 90.0, 220.0);
}

void speak(Voice& v, float* out, int64_t n) {
    std::normal_distribution<double> noise(0.0, 1.0);
    for (int64_t i = 0; i < n; ++i) {
        if (v.left == 0) next_segment(v);
        const double envelope = std::sin(kPi * static_cast<double>(v.left--) / static_cast<double>(v.length));
        double x = 0.0;
        if (v.sound == Voice::Sound::vowel) {
            v.phase += v.pitch / kRate;
            if (v.phase >= 1.0) v.phase -= 1.0, x = 1.0;
        } else if (v.sound == Voice::Sound::fricative) {
            x = 0.3 * noise(v.rng);
        }
        double y = 0.0;
        for (int k = 0; k < 2; ++k) {
            const double yk = x + v.a1[k] * v.y1[k] + v.a2[k] * v.y2[k];
            v.y2[k] = v.y1[k], v.y1[k] = yk;
            y += yk;
        }
        // A first difference, as radiation at the lips: no DC from the pulse train.
        const double radiated = y - v.last;
        v.last = y;
        out[i] = static_cast<float>(std::clamp(0.1 * envelope * radiated + 1e-3 * noise(v.rng), -1.0, 1.0));
    }
}

// Where the audio comes from: the voice, or a recording from where it left off.
struct Source {
    Voice voice;
    ember::Audio recording;  // empty: the voice speaks
    size_t at = 0;
};

void fill(Source& s, float* out, int64_t n) {
    if (s.recording.samples.empty()) {
        speak(s.voice, out, n);
        return;
    }
    for (int64_t i = 0; i < n; ++i, s.at = (s.at + 1) % s.recording.samples.size()) out[i] = s.recording.samples[s.at];
}

double resident_mb() {
    long pages = 0, resident = 0;
    std::ifstream("/proc/self/statm") >> pages >> resident;
    return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1e6;
}

double cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// What the stream keeps of its transcript: the text (as decoded and
// stripped) and every token with its time. It grows with what the model
// emits, ~20 bytes a token, and it is the result rather than a leak, so the
// resident set is judged by its growth beyond this. (Speech has ~3-15 tokens a
// second; a model with random weights may emit far more.)
double transcript_mb(const ember::Stream& s) {
    const ember::RecognitionResult& r = s.current;
    return static_cast<double>(s.text.size() + r.text.size() + r.tokens.size() * sizeof(int64_t) +
                               r.times.size() * sizeof(double)) / 1e6;
}

struct Minute {
    double rss_mb = 0.0;
    double transcript_mb = 0.0;
    double cpu_s = 0.0;  // in accept_waveform and decode
    int64_t chunks = 0;
};

// CPU milliseconds per chunk over minutes [first, first + count).
double ms_per_chunk(const std::vector<Minute>& minutes, size_t first, size_t count) {
    double cpu = 0.0;
    int64_t chunks = 0;
    for (size_t m = first; m < first + count; ++m) cpu += minutes[m].cpu_s, chunks += minutes[m].chunks;
    return 1e3 * cpu / static_cast<double>(std::max<int64_t>(chunks, 1));
}

const char* const kUsage =
    "usage: ember_long_stream --model MODEL.ember [--minutes 60] [--beam 10] [--wav SPEECH.wav] [--max-slowdown 1.25]\n";

int usage_error(const std::string& problem) {
    std::fprintf(stderr, "ember_long_stream: %s\n%s", problem.c_str(), kUsage);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string model_path, wav_path;
    long minutes = 60, beam = 10;
    double max_slowdown = 1.25;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (i + 1 == argc) return usage_error("unknown flag or missing value: " + flag);
        const char* value = argv[++i];
        if (flag == "--model") model_path = value;
        else if (flag == "--minutes") minutes = std::strtol(value, nullptr, 10);
        else if (flag == "--beam") beam = std::strtol(value, nullptr, 10);
        else if (flag == "--wav") wav_path = value;
        else if (flag == "--max-slowdown") max_slowdown = std::strtod(value, nullptr);
        else return usage_error("unknown flag " + flag);
    }
    if (model_path.empty()) return usage_error("--model is required");
    // The warm-up minute, then at least one minute in each of the two windows compared.
    if (minutes < 3) return usage_error("--minutes must be at least 3");
    if (beam < 1) return usage_error("--beam must be at least 1");
    if (!(max_slowdown >= 1.0)) return usage_error("--max-slowdown must be at least 1");

    try {
        const ember::Model model = ember::load_model(model_path);
        ember::RecognizerOptions options;
        options.streaming = true;
        options.search.beam = beam;
        const ember::Recognizer recognizer = ember::make_recognizer(model, options);
        ember::Stream stream = ember::make_stream(recognizer);

        Source source;
        if (!wav_path.empty()) {
            source.recording = ember::read_wav(wav_path);
            if (source.recording.samples.empty()) ember::fail(wav_path, ": no samples");
        }
        const int64_t rate = wav_path.empty() ? kRate : source.recording.sample_rate;
        std::vector<float> piece(static_cast<size_t>(rate * 160 / 1000));
        const int64_t piece_size = static_cast<int64_t>(piece.size());
        std::vector<Minute> log;
        const double start = cpu_seconds();
        for (long m = 0; m < minutes; ++m) {
            Minute minute;
            const int64_t chunks_before = stream.chunks;
            for (int64_t p = 0; p < kPiecesPerMinute; ++p) {
                fill(source, piece.data(), piece_size);
                const double t = cpu_seconds();
                ember::accept_waveform(stream, piece.data(), piece_size, rate);
                while (ember::is_ready(stream)) ember::decode(stream);
                minute.cpu_s += cpu_seconds() - t;
            }
            minute.chunks = stream.chunks - chunks_before;
            minute.rss_mb = resident_mb();
            minute.transcript_mb = transcript_mb(stream);
            log.push_back(minute);
            std::printf("minute %3ld: RSS %7.2f MB (transcript %5.2f MB, %zu tokens), %lld chunks, %.3f ms CPU per chunk\n",
                        m + 1, minute.rss_mb, minute.transcript_mb, stream.current.tokens.size(),
                        static_cast<long long>(minute.chunks), ms_per_chunk(log, log.size() - 1, 1));
            std::fflush(stdout);
        }

        const Minute& warm = log[0];
        double peak = warm.rss_mb, growth = 0.0;  // growth: beyond the transcript's
        for (const Minute& minute : log) {
            peak = std::max(peak, minute.rss_mb);
            growth = std::max(growth, minute.rss_mb - minute.transcript_mb - (warm.rss_mb - warm.transcript_mb));
        }
        const size_t window = std::min<size_t>(10, (log.size() - 1) / 2);
        const double first = ms_per_chunk(log, 1, window), last = ms_per_chunk(log, log.size() - window, window);
        const bool rss_ok = growth <= kMaxRssGrowthMb, time_ok = last <= max_slowdown * first;
        std::printf("%ld minutes of audio, %lld chunks, %zu tokens, beam %ld, %.1f s CPU\n", minutes,
                    static_cast<long long>(stream.chunks), stream.current.tokens.size(), beam, cpu_seconds() - start);
        std::printf("RSS after the first minute %.2f MB, max later %.2f MB (%+.2f MB, the transcript %+.2f MB): "
                    "%+.2f MB beyond the transcript (limit +%.0f MB): %s\n",
                    warm.rss_mb, peak, peak - warm.rss_mb, log.back().transcript_mb - warm.transcript_mb, growth,
                    kMaxRssGrowthMb, rss_ok ? "ok" : "FAILED");
        std::printf("CPU per chunk, minutes 2-%zu: %.3f ms, minutes %zu-%ld: %.3f ms: %.2fx (limit %.2fx): %s\n",
                    window + 1, first, log.size() - window + 1, minutes, last, last / first, max_slowdown,
                    time_ok ? "ok" : "FAILED");
        return rss_ok && time_ok ? 0 : 1;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "ember_long_stream: error: %s\n", error.what());
        return 1;
    }
}
