#include "engine/resample.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "engine/error.h"

namespace ember {
namespace {

constexpr int lowpass_filter_width = 6;  // torchaudio's default
constexpr double rolloff = 0.99;         // torchaudio's default
constexpr int64_t min_block = 8192;      // input samples taken per step at least
constexpr double pi = 3.141592653589793;  // Python's math.pi

void check_rates(int64_t orig_rate, int64_t new_rate) {
    if (orig_rate < 1 || orig_rate > max_resample_rate || new_rate < 1 || new_rate > max_resample_rate)
        fail("resample: rates ", orig_rate, " Hz -> ", new_rate, " Hz: each must be in [1, ", max_resample_rate,
             "] Hz");
}

// sum_k x[k] * h[k] in a fixed order (eight running sums, then a tree), so the
// result does not depend on where x sits in memory.
float dot(const float* x, const float* h, int64_t n) {
    float acc[8] = {};
    int64_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int lane = 0; lane < 8; ++lane) acc[lane] += x[k + lane] * h[k + lane];
    float tail = 0.0f;
    for (; k < n; ++k) tail += x[k] * h[k];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

bool is_copy(const ResampleFilter& filter) { return filter.orig == filter.new_; }

// Emits every output sample below `limit` whose window is in the buffer, then
// drops the input no later output needs.
void emit(ResampleStream& s, int64_t limit, std::vector<float>& out) {
    const ResampleFilter& f = s.filter;
    const int64_t end = s.buffer_start + s.buffered;
    int64_t frame = s.next_output / f.new_;
    int64_t phase = s.next_output % f.new_;
    while (s.next_output < limit) {
        const int64_t start = frame * f.orig + f.first[phase];
        if (start + f.count[phase] > end) break;
        out.push_back(dot(s.buffer.data() + (start - s.buffer_start), f.taps.data() + f.offset[phase], f.count[phase]));
        ++s.next_output;
        if (++phase == f.new_) {
            phase = 0;
            ++frame;
        }
    }
    const int64_t keep_from = std::min(frame * f.orig + f.min_first, end);
    const int64_t drop = keep_from - s.buffer_start;
    if (drop > 0) {
        std::memmove(s.buffer.data(), s.buffer.data() + drop, static_cast<size_t>(s.buffered - drop) * sizeof(float));
        s.buffer_start += drop;
        s.buffered -= drop;
    }
}

// Appends n input samples (zeros when x is null) a buffer-full at a time,
// emitting after each.
void feed(ResampleStream& s, const float* x, int64_t n, int64_t limit, std::vector<float>& out) {
    const int64_t capacity = static_cast<int64_t>(s.buffer.size());
    while (n > 0) {
        const int64_t take = std::min(n, capacity - s.buffered);
        EMBER_CHECK(take > 0, "resample: internal error: stream buffer full");
        float* to = s.buffer.data() + s.buffered;
        if (x) {
            std::memcpy(to, x, static_cast<size_t>(take) * sizeof(float));
            x += take;
        } else {
            std::fill(to, to + take, 0.0f);
        }
        s.buffered += take;
        n -= take;
        emit(s, limit, out);
    }
}

}  // namespace

int64_t resampled_length(int64_t n, int64_t orig_rate, int64_t new_rate) {
    check_rates(orig_rate, new_rate);
    if (n < 0) fail("resample: negative input length ", n);
    const int64_t g = std::gcd(orig_rate, new_rate);
    const int64_t orig = orig_rate / g, new_ = new_rate / g;
    if (n > std::numeric_limits<int64_t>::max() / new_) fail("resample: input of ", n, " samples is too long");
    return (n * new_ + orig - 1) / orig;
}

ResampleFilter make_resample_filter(int64_t orig_rate, int64_t new_rate) {
    check_rates(orig_rate, new_rate);
    const int64_t g = std::gcd(orig_rate, new_rate);
    ResampleFilter filter;
    filter.orig = orig_rate / g;
    filter.new_ = new_rate / g;
    const int64_t orig = filter.orig, new_ = filter.new_;
    if (orig == new_) return filter;  // a copy: no taps

    // _get_sinc_resample_kernel: base_freq and width in float64, as Python does.
    const double base_freq = static_cast<double>(std::min(orig, new_)) * rolloff;
    const double half_span = static_cast<double>(lowpass_filter_width * orig) / base_freq;  // in input samples
    filter.width = static_cast<int64_t>(std::ceil(half_span));
    const int64_t kernel_size = 2 * filter.width + orig;  // torch's taps per phase

    // For float32 input torch builds the kernel in float32, each operation
    // rounded to float: mirror its order. Rates <= max_resample_rate keep
    // every index below 2^24, exact in float.
    const float orig_f = static_cast<float>(orig), new_f = static_cast<float>(new_);
    const float base_f = static_cast<float>(base_freq), pi_f = static_cast<float>(pi);
    const float width_f = static_cast<float>(lowpass_filter_width);
    const float scale_f = static_cast<float>(base_freq / static_cast<double>(orig));
    // t = (arange(0, -new, -1) / new + arange(-width, width + orig) / orig) * base_freq
    auto t_of = [&](float phase_t, int64_t k) {
        const float idx = static_cast<float>(k - filter.width) / orig_f;
        return (phase_t + idx) * base_f;
    };

    filter.first.resize(static_cast<size_t>(new_));
    filter.count.resize(static_cast<size_t>(new_));
    filter.offset.resize(static_cast<size_t>(new_));
    filter.taps.reserve(static_cast<size_t>(static_cast<double>(new_) * (2 * half_span + 6)));
    for (int64_t p = 0; p < new_; ++p) {
        const float phase_t = static_cast<float>(-p) / new_f;
        // The taps torch does not clamp (|t| < width): t falls with k, so they
        // are one run around the centre; find it near the exact estimate.
        auto inside = [&](int64_t k) { return std::fabs(t_of(phase_t, k)) < width_f; };
        const double centre = static_cast<double>(filter.width) + static_cast<double>(orig * p) / new_;
        int64_t lo = std::max<int64_t>(0, static_cast<int64_t>(std::floor(centre - half_span)) - 2);
        int64_t hi = std::min<int64_t>(kernel_size - 1, static_cast<int64_t>(std::ceil(centre + half_span)) + 2);
        while (lo <= hi && !inside(lo)) ++lo;
        while (hi >= lo && !inside(hi)) --hi;
        if (lo <= hi) {
            while (lo > 0 && inside(lo - 1)) --lo;
            while (hi + 1 < kernel_size && inside(hi + 1)) ++hi;
        }
        filter.first[p] = lo;
        filter.count[p] = std::max<int64_t>(0, hi - lo + 1);
        filter.offset[p] = static_cast<int64_t>(filter.taps.size());
        for (int64_t k = lo; k <= hi; ++k) {
            const float t = t_of(phase_t, k);
            const float c = static_cast<float>(std::cos(static_cast<double>(t * pi_f / width_f / 2.0f)));
            const float window = c * c;
            const float t_pi = t * pi_f;
            const float sinc = t_pi == 0.0f ? 1.0f : static_cast<float>(std::sin(static_cast<double>(t_pi))) / t_pi;
            filter.taps.push_back(sinc * (window * scale_f));
        }
    }
    filter.min_first = *std::min_element(filter.first.begin(), filter.first.end());
    return filter;
}

ResampleStream make_resample_stream(int64_t orig_rate, int64_t new_rate) {
    ResampleStream s;
    s.filter = make_resample_filter(orig_rate, new_rate);
    const ResampleFilter& f = s.filter;
    if (!is_copy(f)) {
        int64_t window_end = 0;  // past the last tap any phase reads, from f * orig
        for (int64_t p = 0; p < f.new_; ++p) window_end = std::max(window_end, f.first[p] + f.count[p]);
        const int64_t span = std::max(window_end - f.min_first, f.width);
        s.buffer.assign(static_cast<size_t>(span + std::max(min_block, f.orig)), 0.0f);
    }
    reset_resample_stream(s);
    return s;
}

void reset_resample_stream(ResampleStream& s) {
    // The stream starts with torch's `width` zeros of front padding.
    std::fill(s.buffer.begin(), s.buffer.begin() + (is_copy(s.filter) ? 0 : s.filter.width), 0.0f);
    s.buffer_start = 0;
    s.buffered = is_copy(s.filter) ? 0 : s.filter.width;
    s.received = 0;
    s.next_output = 0;
}

void resample_accept(ResampleStream& s, const float* x, int64_t n, std::vector<float>& out) {
    if (n < 0) fail("resample: negative input length ", n);
    if (n > 0 && x == nullptr) fail("resample: null input of ", n, " samples");
    if (n > std::numeric_limits<int64_t>::max() / s.filter.new_ - s.received)
        fail("resample: input of more than ", s.received, " + ", n, " samples is too long");
    s.received += n;
    if (is_copy(s.filter)) {
        out.insert(out.end(), x, x + n);
        s.next_output += n;
        return;
    }
    feed(s, x, n, std::numeric_limits<int64_t>::max(), out);
}

void resample_finish(ResampleStream& s, std::vector<float>& out) {
    const ResampleFilter& f = s.filter;
    if (!is_copy(f)) {
        const int64_t target = (s.received * f.new_ + f.orig - 1) / f.orig;  // ceil(new * n / orig)
        if (s.next_output < target) {
            // Zeros after the end (torch pads width + orig) up to the last output's window.
            const int64_t last = target - 1;
            const int64_t phase = last % f.new_;
            const int64_t window_end = (last / f.new_) * f.orig + f.first[phase] + f.count[phase];
            feed(s, nullptr, std::max<int64_t>(0, window_end - (s.buffer_start + s.buffered)), target, out);
            emit(s, target, out);
        }
        EMBER_CHECK(s.next_output == target, "resample: internal error: ", s.next_output, " of ", target,
                    " output samples at the end");
    }
    reset_resample_stream(s);
}

std::vector<float> resample(const float* x, int64_t n, int64_t orig_rate, int64_t new_rate) {
    std::vector<float> out;
    out.reserve(static_cast<size_t>(resampled_length(n, orig_rate, new_rate)));
    ResampleStream s = make_resample_stream(orig_rate, new_rate);
    resample_accept(s, x, n, out);
    resample_finish(s, out);
    return out;
}

}  // namespace ember
