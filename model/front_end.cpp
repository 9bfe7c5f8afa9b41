// The audio front end: see front_end.h. The filterbank and window are built
// with torch's float32 arithmetic, step by step, so that they match torch's
// bit for bit or within one ulp (torch evaluates pow and cos with SLEEF in its
// vectorised loops, ember with the C library).
#include "model/front_end.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/error.h"

namespace ember {

namespace {

constexpr float kE = 2.71828182845904523536f;  // math.e as torch compares and divides in float32

// torch.linspace(start, end, steps) in float32 as torch 1.13's CPU kernel
// computes it (RangeFactoriesKernel.cpp, built for AVX2): step = (end - start)
// / (steps - 1) in float; the first half counts up from start, the second
// half down from end, each as one fused multiply-add; the vectorised loop,
// which covers the largest multiple of 16 elements, computes every 8th value
// so and the 7 after it by adding k * step (rounded, not fused) to it.
std::vector<float> torch_linspace(float start, float end, int64_t steps) {
    std::vector<float> out(static_cast<size_t>(steps));
    if (steps == 1) {
        out[0] = start;
        return out;
    }
    const float step = (end - start) / float(steps - 1);
    const int64_t halfway = steps / 2;
    auto scalar = [&](int64_t i) {
        return i < halfway ? std::fma(step, float(i), start) : std::fma(-step, float(steps - 1 - i), end);
    };
    constexpr int64_t kVector = 8;
    const int64_t vectorised = steps / (2 * kVector) * (2 * kVector);
    int64_t i = 0;
    for (; i < vectorised; i += kVector) {
        const float base = scalar(i);
        out[i] = base;
        for (int64_t k = 1; k < kVector; ++k) {
            const float offset = float(k) * step;
            out[i + k] = base + offset;
        }
    }
    for (; i < steps; ++i) out[i] = scalar(i);
    return out;
}

// torchaudio.functional.melscale_fbanks(n_freqs, 0, sample_rate // 2, n_mels,
// sample_rate, norm=None, mel_scale="htk"), float32: (n_freqs, n_mels).
std::vector<float> melscale_fbanks(int64_t n_freqs, int64_t n_mels, int64_t sample_rate) {
    const std::vector<float> all_freqs = torch_linspace(0.0f, float(sample_rate / 2), n_freqs);
    const double m_max = 2595.0 * std::log10(1.0 + double(sample_rate / 2) / 700.0);  // _hz_to_mel, in Python floats
    const std::vector<float> m_pts = torch_linspace(0.0f, float(m_max), n_mels + 2);
    std::vector<float> f_pts(m_pts.size());
    for (size_t i = 0; i < m_pts.size(); ++i)  // _mel_to_hz: 700 * (10^(m / 2595) - 1), float ops
        f_pts[i] = 700.0f * (std::pow(10.0f, m_pts[i] / 2595.0f) - 1.0f);
    std::vector<float> fb(static_cast<size_t>(n_freqs * n_mels));
    for (int64_t f = 0; f < n_freqs; ++f) {
        for (int64_t m = 0; m < n_mels; ++m) {  // _create_triangular_filterbank
            const float down = -(f_pts[m] - all_freqs[f]) / (f_pts[m + 1] - f_pts[m]);
            const float up = (f_pts[m + 2] - all_freqs[f]) / (f_pts[m + 2] - f_pts[m + 1]);
            fb[f * n_mels + m] = std::max(0.0f, std::min(down, up));
        }
    }
    return fb;
}

// torch.hann_window(n) (periodic): 0.5 - 0.5 cos(i * (2 pi / n)), the angle
// computed in float as torch does.
std::vector<float> hann_window(int64_t n) {
    if (n == 1) return {1.0f};
    const float scale = float(2.0 * M_PI / double(n));
    std::vector<float> window(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        const float angle = float(i) * scale;
        window[i] = float(std::cos(double(angle))) * -0.5f + 0.5f;
    }
    return window;
}

// _piecewise_linear_log: x[x > e] = log(x[x > e]); then x[x <= e] /= e, on
// the updated values.
inline float piecewise_linear_log(float x) {
    if (x > kE) x = std::log(x);
    if (x <= kE) x = x / kE;
    return x;
}

// Index into a waveform of `count` samples of position j of its reflect
// padding (torch.nn.functional.pad mode "reflect"); valid for -count < j < 2 count - 1.
inline int64_t reflect(int64_t j, int64_t count) {
    if (j < 0) return -j;
    if (j >= count) return 2 * (count - 1) - j;
    return j;
}

void check_audio_length(const FrontEndConfig& c, int64_t count) {
    if (count <= 0) fail("no audio: the waveform is empty");
    if (count <= c.n_fft / 2)
        fail("audio too short: ", count, " samples; torchaudio's reflect padding needs more than n_fft/2 = ",
             c.n_fft / 2, " samples (", double(c.n_fft / 2 + 1) / double(c.sample_rate) * 1000.0, " ms)");
}

Features extract(const FrontEndConfig& config, const float* samples, int64_t count, int64_t padding) {
    FrontEnd front_end = make_front_end(config);
    check_audio_length(config, count);
    Features features;
    features.dim = config.n_mels;
    const int64_t frames = feature_frames(config, count);
    features.frames = frames + padding;
    features.values.assign(static_cast<size_t>(features.frames * features.dim), 0.0f);
    compute_features(front_end, samples, count, features.values.data());
    return features;
}

}  // namespace

void validate_front_end_config(const FrontEndConfig& c) {
    if (c.sample_rate <= 0) fail("front end: sample_rate must be positive, got ", c.sample_rate);
    if (c.n_fft <= 0) fail("front end: n_fft must be positive, got ", c.n_fft);
    if (c.hop_length <= 0) fail("front end: hop_length must be positive, got ", c.hop_length);
    if (c.n_mels <= 0) fail("front end: n_mels must be positive, got ", c.n_mels);
    if (c.right_padding < 0) fail("front end: right_padding must not be negative, got ", c.right_padding);
    const size_t n_mels = static_cast<size_t>(c.n_mels);
    const bool no_stats = c.global_mean.empty() && c.global_invstddev.empty();
    if (!no_stats && (c.global_mean.size() != n_mels || c.global_invstddev.size() != n_mels))
        fail("front end: global mean and invstddev must both hold n_mels = ", c.n_mels, " values, got ",
             c.global_mean.size(), " and ", c.global_invstddev.size());
}

int64_t feature_frames(const FrontEndConfig& c, int64_t samples) {
    if (samples <= c.n_fft / 2) return 0;
    return 1 + (samples + 2 * (c.n_fft / 2) - c.n_fft) / c.hop_length;
}

Features extract_features(const FrontEndConfig& config, const float* samples, int64_t count) {
    return extract(config, samples, count, config.right_padding);
}

Features extract_segment_features(const FrontEndConfig& config, const float* samples, int64_t count) {
    return extract(config, samples, count, 0);
}

FrontEnd make_front_end(const FrontEndConfig& config) {
    validate_front_end_config(config);
    FrontEnd fe;
    fe.config = config;
    const int64_t n_fft = config.n_fft, n_freqs = n_fft / 2 + 1, n_mels = config.n_mels;
    fe.fft = kernels::make_fft_plan(n_fft);
    fe.window = hann_window(n_fft);
    const std::vector<float> fb = melscale_fbanks(n_freqs, n_mels, config.sample_rate);  // (n_freqs, n_mels)
    fe.mel_weights.resize(static_cast<size_t>(n_mels * n_freqs));
    fe.band_begin.assign(static_cast<size_t>(n_mels), 0);
    fe.band_end.assign(static_cast<size_t>(n_mels), 0);
    for (int64_t m = 0; m < n_mels; ++m) {
        int64_t begin = n_freqs, end = 0;
        for (int64_t f = 0; f < n_freqs; ++f) {
            const float w = fb[f * n_mels + m];
            fe.mel_weights[m * n_freqs + f] = w;
            if (w != 0.0f) begin = std::min(begin, f), end = f + 1;
        }
        fe.band_begin[m] = std::min(begin, end);
        fe.band_end[m] = end;
    }
    // torchaudio's _gain is the Python float 10^(0.05 * 2 * 20 * log10(32767)); torch
    // multiplies the float32 features by it rounded to float32.
    fe.gain = float(std::pow(10.0, 0.05 * (2.0 * 20.0 * std::log10(32767.0))));
    fe.frame.resize(static_cast<size_t>(n_fft));
    fe.power.resize(static_cast<size_t>(n_freqs));
    fe.fft_work.resize(static_cast<size_t>(fe.fft.work_size));
    return fe;
}

void compute_features(FrontEnd& fe, const float* samples, int64_t count, float* out) {
    const FrontEndConfig& c = fe.config;
    check_audio_length(c, count);
    const int64_t frames = feature_frames(c, count), pad = c.n_fft / 2, n_freqs = c.n_fft / 2 + 1;
    const bool normalise = !c.global_mean.empty();
    for (int64_t t = 0; t < frames; ++t) {
        // Frame t of the reflect-padded waveform, windowed: (n_fft)
        const int64_t start = t * c.hop_length - pad;
        for (int64_t i = 0; i < c.n_fft; ++i) fe.frame[i] = samples[reflect(start + i, count)] * fe.window[i];
        kernels::rfft_power(fe.fft, fe.frame.data(), fe.power.data(), fe.fft_work.data());  // (n_freqs)
        float* row = out + t * c.n_mels;  // (n_mels)
        for (int64_t m = 0; m < c.n_mels; ++m) {
            const float* weights = fe.mel_weights.data() + m * n_freqs;
            double sum = 0.0;
            for (int64_t f = fe.band_begin[m]; f < fe.band_end[m]; ++f) sum += double(fe.power[f]) * weights[f];
            float x = piecewise_linear_log(float(sum) * fe.gain);
            if (normalise) x = (x - c.global_mean[m]) * c.global_invstddev[m];
            row[m] = x;
        }
    }
}

StreamingFrontEnd make_streaming_front_end(const FrontEndConfig& config, int64_t segment_length,
                                           int64_t right_context_length) {
    if (segment_length < 1) fail("streaming front end: segment_length must be at least 1, got ", segment_length);
    if (right_context_length < 0)
        fail("streaming front end: right_context_length must not be negative, got ", right_context_length);
    StreamingFrontEnd stream;
    stream.front_end = make_front_end(config);
    stream.segment_samples = segment_length * config.hop_length;
    stream.window_samples = (segment_length + right_context_length) * config.hop_length;
    if (stream.window_samples <= config.n_fft / 2)
        fail("streaming front end: segments of ", stream.window_samples,
             " samples are too short for torchaudio's reflect padding of n_fft/2 = ", config.n_fft / 2);
    stream.frames = feature_frames(config, stream.window_samples);
    stream.buffer.assign(static_cast<size_t>(stream.window_samples), 0.0f);
    stream.features.assign(static_cast<size_t>(stream.frames * config.n_mels), 0.0f);
    return stream;
}

int64_t accept(StreamingFrontEnd& stream, const float* samples, int64_t count) {
    if (stream.finished) fail("streaming front end: samples given after finish()");
    EMBER_CHECK(count >= 0, "streaming front end: negative sample count ", count);
    const int64_t taken = std::min(count, stream.window_samples - stream.buffered);
    if (taken > 0) std::memcpy(stream.buffer.data() + stream.buffered, samples, size_t(taken) * sizeof(float));
    stream.buffered += taken;
    return taken;
}

void finish(StreamingFrontEnd& stream) { stream.finished = true; }

bool next_segment(StreamingFrontEnd& stream) {
    const bool complete = stream.buffered == stream.window_samples;
    if (!complete && !(stream.finished && stream.buffered > 0)) return false;
    float* buffer = stream.buffer.data();
    std::fill(buffer + stream.buffered, buffer + stream.window_samples, 0.0f);
    compute_features(stream.front_end, buffer, stream.window_samples, stream.features.data());
    const int64_t kept = std::max<int64_t>(0, stream.buffered - stream.segment_samples);
    std::memmove(buffer, buffer + (stream.buffered - kept), size_t(kept) * sizeof(float));
    stream.buffered = kept;
    ++stream.segments;
    return true;
}

void reset(StreamingFrontEnd& stream) {
    stream.buffered = 0;
    stream.finished = false;
    stream.segments = 0;
}

}  // namespace ember
