// Mixed-radix real FFT: see fft.h. Arithmetic is in double throughout.
//
// The Stockham pass. After the passes so far, the data holds, for every
// residue s in [0, r), the DFT of length `span` of the subsequence z[s::r]
// (r = complex_n / span), element k of it at index k * r + s. A radix-p pass
// combines the p transforms of residues s' + q r' (q < p, r' = r / p) into the
// transform of length span * p of z[s'::r'] (decimation in time):
//
//   Y[k1 + span k2] = sum_q W_p^(q k2) * (W_(span p)^(q k1) * A_q[k1])
//
// and stores element k' of it at k' * r' + s'. The first pass reads z itself
// (span 1, r = complex_n); the last leaves the DFT of z in natural order. The
// innermost loop runs over s', contiguous in input and output.
#include "kernels/fft.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>


namespace ember::kernels {

namespace {

struct Complex {
    double re, im;
};

inline Complex operator+(Complex a, Complex b) { return {a.re + b.re, a.im + b.im}; }
inline Complex operator-(Complex a, Complex b) { return {a.re - b.re, a.im - b.im}; }
inline Complex operator*(Complex a, Complex b) {
    return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}
inline Complex scale(Complex a, double s) { return {a.re * s, a.im * s}; }
inline Complex times_minus_i(Complex a) { return {a.im, -a.re}; }  // -i * a
inline Complex conjugate(Complex a) { return {a.re, -a.im}; }

inline Complex load(const double* data, int64_t index) { return {data[2 * index], data[2 * index + 1]}; }
inline void store(double* data, int64_t index, Complex value) {
    data[2 * index] = value.re;
    data[2 * index + 1] = value.im;
}

// exp(-2 pi i m / n), the angle reduced exactly before the double-precision cos and sin.
void push_root(std::vector<double>& out, int64_t m, int64_t n) {
    const double angle = -2.0 * M_PI * double(m % n) / double(n);
    out.push_back(std::cos(angle));
    out.push_back(std::sin(angle));
}

// Factors of n: fours first, then a two, then odd primes in increasing order.
std::vector<int64_t> factorize(int64_t n) {
    std::vector<int64_t> factors;
    while (n % 4 == 0) {
        factors.push_back(4);
        n /= 4;
    }
    if (n % 2 == 0) {
        factors.push_back(2);
        n /= 2;
    }
    for (int64_t p = 3; p * p <= n; p += 2) {
        while (n % p == 0) {
            factors.push_back(p);
            n /= p;
        }
    }
    if (n > 1) factors.push_back(n);
    return factors;
}

// The radix-p DFT of a (p complex) for the generic radix: b_k = sum_q a_q W_p^(q k).
void dft_generic(const double* a, int64_t p, const double* roots, double* b) {
    for (int64_t k = 0; k < p; ++k) {
        Complex sum = load(a, 0);
        int64_t m = 0;
        for (int64_t q = 1; q < p; ++q) {
            m += k;
            if (m >= p) m -= p;
            sum = sum + load(a, q) * load(roots, m);
        }
        store(b, k, sum);
    }
}

// One Stockham pass: in (complex_n) -> out (complex_n). `scratch` holds 2 * radix
// complex values for the generic radix.
void run_stage(const FftPlan& plan, const FftStage& stage, const double* in, double* out, double* scratch) {
    const int64_t p = stage.radix, span = stage.span;
    const int64_t r = plan.complex_n / span, rp = r / p;
    const double* twiddles = plan.twiddles.data() + 2 * stage.twiddle_offset;
    constexpr double kSin60 = 0.86602540378443864676;  // sin(2 pi / 3)
    constexpr double kC1 = 0.30901699437494742410, kC2 = -0.80901699437494742410;  // cos(2 pi / 5), cos(4 pi / 5)
    constexpr double kS1 = 0.95105651629515357212, kS2 = 0.58778525229247312917;   // sin(2 pi / 5), sin(4 pi / 5)

    for (int64_t k1 = 0; k1 < span; ++k1) {
        const double* w = twiddles + 2 * k1 * (p - 1);  // W_(span p)^(q k1), q = 1 .. p-1
        const int64_t in_base = k1 * r, out_base = k1 * rp, out_step = span * rp;
        auto input = [&](int64_t q, int64_t s) {
            const Complex a = load(in, in_base + s + q * rp);
            return q == 0 ? a : a * load(w, q - 1);
        };
        switch (p) {
            case 2:
                for (int64_t s = 0; s < rp; ++s) {
                    const Complex a0 = input(0, s), a1 = input(1, s);
                    store(out, out_base + s, a0 + a1);
                    store(out, out_base + out_step + s, a0 - a1);
                }
                break;
            case 3:
                for (int64_t s = 0; s < rp; ++s) {
                    const Complex a0 = input(0, s), a1 = input(1, s), a2 = input(2, s);
                    const Complex t = a1 + a2, m = a0 - scale(t, 0.5);
                    const Complex d = times_minus_i(scale(a1 - a2, kSin60));
                    store(out, out_base + s, a0 + t);
                    store(out, out_base + out_step + s, m + d);
                    store(out, out_base + 2 * out_step + s, m - d);
                }
                break;
            case 4:
                for (int64_t s = 0; s < rp; ++s) {
                    const Complex a0 = input(0, s), a1 = input(1, s), a2 = input(2, s), a3 = input(3, s);
                    const Complex t0 = a0 + a2, t1 = a0 - a2, t2 = a1 + a3, t3 = times_minus_i(a1 - a3);
                    store(out, out_base + s, t0 + t2);
                    store(out, out_base + out_step + s, t1 + t3);
                    store(out, out_base + 2 * out_step + s, t0 - t2);
                    store(out, out_base + 3 * out_step + s, t1 - t3);
                }
                break;
            case 5:
                for (int64_t s = 0; s < rp; ++s) {
                    const Complex a0 = input(0, s), a1 = input(1, s), a2 = input(2, s), a3 = input(3, s),
                                  a4 = input(4, s);
                    const Complex t1 = a1 + a4, t2 = a2 + a3, d1 = a1 - a4, d2 = a2 - a3;
                    const Complex m1 = a0 + scale(t1, kC1) + scale(t2, kC2);
                    const Complex m2 = a0 + scale(t1, kC2) + scale(t2, kC1);
                    const Complex n1 = times_minus_i(scale(d1, kS1) + scale(d2, kS2));
                    const Complex n2 = times_minus_i(scale(d1, kS2) - scale(d2, kS1));
                    store(out, out_base + s, a0 + t1 + t2);
                    store(out, out_base + out_step + s, m1 + n1);
                    store(out, out_base + 2 * out_step + s, m2 + n2);
                    store(out, out_base + 3 * out_step + s, m2 - n2);
                    store(out, out_base + 4 * out_step + s, m1 - n1);
                }
                break;
            default: {
                const double* roots = plan.twiddles.data() + 2 * stage.roots_offset;
                double* a = scratch;
                double* b = scratch + 2 * p;
                for (int64_t s = 0; s < rp; ++s) {
                    for (int64_t q = 0; q < p; ++q) store(a, q, input(q, s));
                    dft_generic(a, p, roots, b);
                    for (int64_t k2 = 0; k2 < p; ++k2) store(out, out_base + k2 * out_step + s, load(b, k2));
                }
            }
        }
    }
}

// The complex DFT of plan.complex_n values at `data`, using `other` (as many
// doubles) as the second buffer; returns the buffer holding the result.
double* complex_fft(const FftPlan& plan, double* data, double* other, double* scratch) {
    for (const FftStage& stage : plan.stages) {
        run_stage(plan, stage, data, other, scratch);
        std::swap(data, other);
    }
    return data;
}

// Bin k (0 <= k <= n/2) of the real DFT from Z, the complex DFT of the n/2
// pairs: X_k = E_k + W_n^k O_k with E_k = (Z_k + conj Z_(h-k)) / 2 and
// O_k = -i (Z_k - conj Z_(h-k)) / 2, indices mod h = n/2.
inline Complex split_bin(const FftPlan& plan, const double* Z, int64_t k) {
    const int64_t h = plan.complex_n;
    const Complex zk = load(Z, k == h ? 0 : k), zc = conjugate(load(Z, k == 0 ? 0 : h - k));
    const Complex even = scale(zk + zc, 0.5), odd = times_minus_i(scale(zk - zc, 0.5));
    return even + load(plan.split.data(), k) * odd;
}

// Runs the transform; calls emit(k, X_k) for k = 0 .. n/2.
template <class Emit>
void transform(const FftPlan& plan, const float* x, double* work, Emit emit) {
    const int64_t cn = plan.complex_n;
    double* data = work;
    double* other = work + 2 * cn;
    double* scratch = work + 4 * cn;
    if (plan.n % 2 == 0) {
        std::copy(x, x + plan.n, data);  // x read as n/2 interleaved complex values
    } else {
        for (int64_t j = 0; j < cn; ++j) store(data, j, {x[j], 0.0});
    }
    const double* Z = complex_fft(plan, data, other, scratch);
    const int64_t bins = plan.n / 2 + 1;
    if (plan.n % 2 == 0) {
        for (int64_t k = 0; k < bins; ++k) emit(k, split_bin(plan, Z, k));
    } else {
        for (int64_t k = 0; k < bins; ++k) emit(k, load(Z, k));
    }
}

}  // namespace

FftPlan make_fft_plan(int64_t n) {
    if (n < 1) throw std::invalid_argument("FFT length must be at least 1, got " + std::to_string(n));
    FftPlan plan;
    plan.n = n;
    plan.complex_n = n % 2 == 0 ? n / 2 : n;
    int64_t span = 1, max_generic = 0;
    for (int64_t p : factorize(plan.complex_n)) {
        FftStage stage;
        stage.radix = p;
        stage.span = span;
        stage.twiddle_offset = int64_t(plan.twiddles.size()) / 2;
        for (int64_t k1 = 0; k1 < span; ++k1)
            for (int64_t q = 1; q < p; ++q) push_root(plan.twiddles, q * k1, span * p);
        if (p > 5) {
            stage.roots_offset = int64_t(plan.twiddles.size()) / 2;
            for (int64_t m = 0; m < p; ++m) push_root(plan.twiddles, m, p);
            max_generic = std::max(max_generic, p);
        }
        plan.stages.push_back(stage);
        span *= p;
    }
    if (n % 2 == 0)
        for (int64_t k = 0; k <= n / 2; ++k) push_root(plan.split, k, n);
    // Two complex buffers of complex_n, then 2 * max_generic complex values.
    plan.work_size = 4 * plan.complex_n + 4 * max_generic;
    return plan;
}

void rfft(const FftPlan& plan, const float* x, float* X, double* work) {
    transform(plan, x, work, [X](int64_t k, Complex value) {
        X[2 * k] = float(value.re);
        X[2 * k + 1] = float(value.im);
    });
}

void rfft_power(const FftPlan& plan, const float* x, float* power, double* work) {
    transform(plan, x, work,
              [power](int64_t k, Complex value) { power[k] = float(value.re * value.re + value.im * value.im); });
}

namespace ref {

void rfft(int64_t n, const float* x, float* X) {
    for (int64_t k = 0; k <= n / 2; ++k) {
        double re = 0.0, im = 0.0;
        for (int64_t j = 0; j < n; ++j) {
            const double angle = -2.0 * M_PI * double((j * k) % n) / double(n);
            re += double(x[j]) * std::cos(angle);
            im += double(x[j]) * std::sin(angle);
        }
        X[2 * k] = float(re);
        X[2 * k + 1] = float(im);
    }
}

}  // namespace ref

}  // namespace ember::kernels
