// The discrete Fourier transform of real input, for any length n >= 1:
// X[k] = sum_j x[j] exp(-2 pi i j k / n), k = 0 .. n/2 (the one-sided half,
// as torch.stft(onesided=True) returns it).
//
// Input and output are float32; the transform computes in double, so its
// result is the exact DFT of the float input rounded once to float (about
// 1e-16 relative error before that rounding). That keeps the spectrum's
// quiet bins, 100 dB and more below a frame's loudest, meaningful, which a
// float32 FFT (torch's included) turns into rounding noise.
//
// A plan is made once per length (factorisation and twiddle factors);
// executing it allocates nothing and works in caller-supplied scratch, so one
// plan may serve several threads at once.
//
//   const FftPlan plan = make_fft_plan(400);
//   std::vector<double> work(plan.work_size);
//   rfft_power(plan, frame, power, work.data());   // power (201) = |X_k|^2
//
// How: for even n the n real samples are read as n/2 complex ones
// z_j = x_2j + i x_2j+1, transformed by a complex FFT of length n/2 and split
// into the spectrum of x; odd n run a complex FFT of length n. The complex FFT
// is a Stockham (self-sorting, out-of-place) mixed-radix FFT with butterflies
// for radices 4, 2, 3 and 5 and a direct O(p^2) DFT for any other prime p.
#pragma once

#include <cstdint>
#include <vector>

namespace ember::kernels {

// One pass of the complex FFT: `radix`-point DFTs combining transforms of
// length `span` into transforms of length span * radix.
struct FftStage {
    int64_t radix = 0;
    int64_t span = 0;            // transform length before this stage
    int64_t twiddle_offset = 0;  // complex index into FftPlan::twiddles: (span, radix - 1)
    int64_t roots_offset = -1;   // complex index of the radix-th roots of unity (generic radix only)
};

struct FftPlan {
    int64_t n = 0;          // real input length
    int64_t complex_n = 0;  // length of the complex FFT: n/2 for even n, n for odd n
    std::vector<FftStage> stages;
    std::vector<double> twiddles;  // interleaved (re, im)
    std::vector<double> split;     // even n: exp(-2 pi i k / n), k = 0 .. n/2, interleaved (re, im)
    int64_t work_size = 0;         // doubles of scratch that rfft / rfft_power need
};

// Throws std::invalid_argument for n < 1 (kernels/ sits below engine/error.h).
FftPlan make_fft_plan(int64_t n);

// X (n/2 + 1 complex, interleaved re, im) = the one-sided DFT of x (n).
// `work` holds plan.work_size doubles.
void rfft(const FftPlan& plan, const float* x, float* X, double* work);

// power (n/2 + 1) = |X_k|^2 = re^2 + im^2 of the one-sided DFT of x (n),
// squared in double and rounded once.
void rfft_power(const FftPlan& plan, const float* x, float* power, double* work);

namespace ref {
// The O(n^2) definition, accumulated in double with exactly reduced angles:
// X (n/2 + 1 complex, interleaved re, im).
void rfft(int64_t n, const float* x, float* X);
}  // namespace ref

}  // namespace ember::kernels
