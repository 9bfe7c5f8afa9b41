// Band-limited resampling as torchaudio.functional.resample (torchaudio
// 0.13.1) with its defaults: sinc_interp_hann, lowpass_filter_width 6,
// rolloff 0.99, rates reduced by their gcd, output length
// ceil(new * n / orig), the signal zero-padded at both ends.
//
//     std::vector<float> y = ember::resample(x.data(), n, 44100, 16000);
//
//     ember::ResampleStream stream = ember::make_resample_stream(44100, 16000);
//     std::vector<float> out;
//     resample_accept(stream, piece, piece_length, out);  // as often as needed
//     resample_finish(stream, out);                        // the tail
//
// The stream emits each output sample as soon as the input it depends on has
// arrived; fed the same signal in any pieces it yields exactly (bit for bit)
// what the whole-signal resample() returns.
//
// The filter bank is torch's, computed as torch computes it for float32 input
// (every step in float32); only the taps torch clamps to the window's edge are
// left out: there the Hann window is cos(pi/2)^2, and the tap is below 1e-20.
// Each output then costs about 12 * orig / min(orig, new) multiply-adds (34
// for 44100 -> 16000, where torch's dense kernel has 475).
//
// Rates: positive integers up to max_resample_rate; equal rates copy. The bank
// holds about 12 * max(orig, new) floats after the gcd reduction (50 MB in the
// worst case allowed), and the stream as many again.
#pragma once

#include <cstdint>
#include <vector>

namespace ember {

// Largest sample rate accepted. It keeps every index torch computes in float32
// exact and the filter bank bounded.
constexpr int64_t max_resample_rate = 1000000;

// Output samples for n input samples: ceil(new * n / orig) with the rates
// reduced by their gcd (n for equal rates).
int64_t resampled_length(int64_t n, int64_t orig_rate, int64_t new_rate);

// x (n,) -> (resampled_length(n, orig_rate, new_rate),). Throws ember::Error
// for a rate outside [1, max_resample_rate] or n < 0.
std::vector<float> resample(const float* x, int64_t n, int64_t orig_rate, int64_t new_rate);

// The filter of one gcd-reduced rate pair: output sample j = f * new + p
// (frame f, phase p) is
//     sum_k taps[offset[p] + k] * xpad[f * orig + first[p] + k],  k < count[p],
// where xpad is the input with `width` zeros in front.
struct ResampleFilter {
    int64_t orig = 1;   // reduced input rate
    int64_t new_ = 1;   // reduced output rate
    int64_t width = 0;  // torch's `width`: zeros padded in front
    std::vector<int64_t> first;   // (new,) first tap of each phase, in xpad samples from f * orig
    std::vector<int64_t> count;   // (new,) taps of each phase
    std::vector<int64_t> offset;  // (new,) where each phase's taps start in `taps`
    std::vector<float> taps;
    int64_t min_first = 0;  // the smallest first[p]
};

ResampleFilter make_resample_filter(int64_t orig_rate, int64_t new_rate);

// One signal being resampled: the filter, the input still needed and where the
// next output is. Made once; resample_accept never touches the heap (apart
// from growing the caller's output vector).
struct ResampleStream {
    ResampleFilter filter;
    std::vector<float> buffer;   // (capacity,): xpad[buffer_start, buffer_start + buffered)
    int64_t buffer_start = 0;    // xpad index of buffer[0]
    int64_t buffered = 0;        // valid samples in buffer
    int64_t received = 0;        // input samples accepted so far
    int64_t next_output = 0;     // index of the next output sample
};

// Throws ember::Error for a rate outside [1, max_resample_rate].
ResampleStream make_resample_stream(int64_t orig_rate, int64_t new_rate);

// Takes the next n input samples and appends to `out` every output sample
// whose input window is now complete.
void resample_accept(ResampleStream& stream, const float* x, int64_t n, std::vector<float>& out);

// Ends the signal: appends the remaining output samples (their windows
// reaching into the zero padding after the end) and resets the stream, ready
// for a new signal at the same rates.
void resample_finish(ResampleStream& stream, std::vector<float>& out);

// Forgets the current signal without emitting anything more.
void reset_resample_stream(ResampleStream& stream);

}  // namespace ember
