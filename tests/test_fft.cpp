// The real FFT (kernels/fft.h) against the O(n^2) reference DFT, over lengths
// that exercise every radix (4, 2, 3, 5), the generic prime path (7, 97) and
// the odd-length path, with random input. Both compute in double and round
// once to float, so each bin may differ by the two roundings (2^-24 of its
// magnitude each) plus double-precision error that grows with the number of
// passes and the input's norm.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "kernels/fft.h"

namespace kernels = ember::kernels;

namespace {

std::vector<float> random_signal(int64_t n, std::mt19937& rng) {
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = uniform(rng);
    return x;
}

}  // namespace

TEST_CASE("rfft and rfft_power match the reference DFT for any length", "[fft]") {
    std::mt19937 rng(1234);
    for (int64_t n : {1, 2, 3, 4, 5, 6, 7, 8, 12, 15, 16, 25, 30, 97, 100, 128, 400, 512, 1000}) {
        INFO("n = " << n);
        const kernels::FftPlan plan = kernels::make_fft_plan(n);
        std::vector<double> work(static_cast<size_t>(plan.work_size));
        const int64_t bins = n / 2 + 1;
        for (int trial = 0; trial < 3; ++trial) {
            const std::vector<float> x = random_signal(n, rng);
            std::vector<float> expected(2 * bins), got(2 * bins), power(bins);
            kernels::ref::rfft(n, x.data(), expected.data());
            kernels::rfft(plan, x.data(), got.data(), work.data());
            kernels::rfft_power(plan, x.data(), power.data(), work.data());

            double norm = 0.0;
            for (float v : x) norm += double(v) * v;
            norm = std::sqrt(norm);
            const double floor = 1e-13 * (1.0 + std::log2(double(n))) * std::max(1.0, norm);
            double worst = 0.0, worst_power = 0.0;  // in units of the allowed error
            for (int64_t k = 0; k < bins; ++k) {
                const double re = expected[2 * k], im = expected[2 * k + 1];
                const double magnitude = std::sqrt(re * re + im * im);
                const double allowed = 1.2e-7 * magnitude + floor;
                worst = std::max({worst, std::fabs(got[2 * k] - re) / allowed, std::fabs(got[2 * k + 1] - im) / allowed});
                // power = |X|^2 rounded once; the reference's magnitude carries its own rounding.
                const double power_allowed = 2.0 * magnitude * allowed + 6e-8 * magnitude * magnitude;
                worst_power = std::max(worst_power, std::fabs(power[k] - magnitude * magnitude) / power_allowed);
            }
            INFO("worst error / allowed: " << worst << ", power " << worst_power);
            CHECK(worst <= 1.0);
            CHECK(worst_power <= 1.0);
        }
    }
}

TEST_CASE("rfft of simple signals: impulse, constant, one cosine", "[fft]") {
    const int64_t n = 400;
    const kernels::FftPlan plan = kernels::make_fft_plan(n);
    std::vector<double> work(static_cast<size_t>(plan.work_size));
    std::vector<float> X(2 * (n / 2 + 1));

    std::vector<float> x(n, 0.0f);
    x[0] = 1.0f;
    kernels::rfft(plan, x.data(), X.data(), work.data());
    for (int64_t k = 0; k <= n / 2; ++k) {
        CHECK(X[2 * k] == Approx(1.0f).margin(1e-6));
        CHECK(X[2 * k + 1] == Approx(0.0f).margin(1e-6));
    }

    std::fill(x.begin(), x.end(), 1.0f);
    kernels::rfft(plan, x.data(), X.data(), work.data());
    CHECK(X[0] == Approx(double(n)).epsilon(1e-6));
    for (int64_t k = 1; k <= n / 2; ++k) CHECK(std::hypot(X[2 * k], X[2 * k + 1]) < 1e-3);

    for (int64_t j = 0; j < n; ++j) x[j] = float(std::cos(2.0 * M_PI * 7.0 * double(j) / double(n)));
    kernels::rfft(plan, x.data(), X.data(), work.data());
    for (int64_t k = 0; k <= n / 2; ++k)
        CHECK(std::hypot(X[2 * k], X[2 * k + 1]) == Approx(k == 7 ? n / 2.0 : 0.0).margin(1e-3));
}

TEST_CASE("make_fft_plan rejects lengths below 1", "[fft]") {
    CHECK_THROWS_AS(kernels::make_fft_plan(0), std::invalid_argument);
    CHECK_THROWS_AS(kernels::make_fft_plan(-4), std::invalid_argument);
}
