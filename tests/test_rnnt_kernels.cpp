// The decoder's kernels against their reference twins on every ISA this CPU
// runs: log_softmax and the LSTM cell step; and the joiner against a
// straightforward double-precision evaluation.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/kernels.h"

namespace kernels = ember::kernels;

namespace {

std::vector<float> random_values(size_t n, std::mt19937& rng, float scale) {
    std::normal_distribution<float> normal(0.0f, scale);
    std::vector<float> v(n);
    for (float& x : v) x = normal(rng);
    return v;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    float worst = 0.0f;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
    return worst;
}

// Runs `body` once per ISA the CPU supports, restoring the active ISA after.
template <class Body>
void for_each_isa(Body body) {
    const kernels::Isa saved = kernels::active_isa();
    for (kernels::Isa isa : {kernels::Isa::generic, kernels::Isa::avx2, kernels::Isa::avx512}) {
        if (!kernels::isa_supported(isa)) continue;
        kernels::set_isa(isa);
        INFO("isa " << kernels::isa_name(isa));
        body();
    }
    kernels::set_isa(saved);
}

}  // namespace

TEST_CASE("kernels: log_softmax matches the reference", "[kernels][decoder]") {
    std::mt19937 rng(3);
    for_each_isa([&] {
        for (int64_t cols : {1, 2, 7, 8, 15, 16, 17, 29, 100, 4097}) {
            for (int64_t rows : {1, 3, 10}) {
                const int64_t ld = cols + 3;
                std::vector<float> x = random_values(static_cast<size_t>(rows * ld), rng, 8.0f);
                std::vector<float> expected = x;
                kernels::log_softmax(x.data(), ld, rows, cols);
                kernels::ref::log_softmax(expected.data(), ld, rows, cols);
                INFO("rows " << rows << " cols " << cols);
                REQUIRE(max_abs_diff(x, expected) <= 2e-5f);
                // Each row is a log distribution: its exps sum to 1.
                for (int64_t r = 0; r < rows; ++r) {
                    double sum = 0.0;
                    for (int64_t j = 0; j < cols; ++j) sum += std::exp(double(x[r * ld + j]));
                    REQUIRE(std::fabs(sum - 1.0) < 1e-4);
                }
            }
        }
    });
}

TEST_CASE("kernels: lstm_cell matches the reference, with and without layer norm", "[kernels][decoder]") {
    std::mt19937 rng(5);
    for_each_isa([&] {
        for (int64_t hidden : {1, 3, 8, 17, 64, 513}) {
            for (bool layer_norm : {false, true}) {
                const int64_t rows = 4, ld_gates = 4 * hidden + 1, ld = hidden + 2;
                const std::vector<float> gates = random_values(static_cast<size_t>(rows * ld_gates), rng, 2.0f);
                const std::vector<float> c0 = random_values(static_cast<size_t>(rows * ld), rng, 1.0f);
                const std::vector<float> g_weight = random_values(static_cast<size_t>(4 * hidden), rng, 1.0f);
                const std::vector<float> g_bias = random_values(static_cast<size_t>(4 * hidden), rng, 0.3f);
                const std::vector<float> c_weight = random_values(static_cast<size_t>(hidden), rng, 1.0f);
                const std::vector<float> c_bias = random_values(static_cast<size_t>(hidden), rng, 0.3f);
                const float* gw = layer_norm ? g_weight.data() : nullptr;
                const float* gb = layer_norm ? g_bias.data() : nullptr;
                const float* cw = layer_norm ? c_weight.data() : nullptr;
                const float* cb = layer_norm ? c_bias.data() : nullptr;

                std::vector<float> gates_a = gates, gates_b = gates, c_a = c0, c_b = c0;
                std::vector<float> h_a(static_cast<size_t>(rows * ld), 0.0f), h_b = h_a;
                kernels::lstm_cell(gates_a.data(), ld_gates, gw, gb, cw, cb, 1e-3f, c_a.data(), ld, h_a.data(), ld,
                                   rows, hidden);
                kernels::ref::lstm_cell(gates_b.data(), ld_gates, gw, gb, cw, cb, 1e-3f, c_b.data(), ld, h_b.data(),
                                        ld, rows, hidden);
                INFO("hidden " << hidden << " layer norm " << layer_norm);
                REQUIRE(max_abs_diff(c_a, c_b) <= 2e-5f);
                REQUIRE(max_abs_diff(h_a, h_b) <= 2e-5f);
                if (!layer_norm) {
                    // Without norms the step is the textbook LSTM cell: check one row in double.
                    for (int64_t j = 0; j < hidden; ++j) {
                        auto sigmoid = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
                        const double i = sigmoid(gates[j]), f = sigmoid(gates[hidden + j]);
                        const double g = std::tanh(double(gates[2 * hidden + j])), o = sigmoid(gates[3 * hidden + j]);
                        const double c = f * c0[j] + i * g;
                        REQUIRE(std::fabs(c - c_a[j]) < 1e-5);
                        REQUIRE(std::fabs(o * std::tanh(c) - h_a[j]) < 1e-5);
                    }
                }
            }
        }
    });
}

TEST_CASE("kernels: linear gives the same bits on any number of threads", "[kernels]") {
    std::mt19937 rng(9);
    for (int64_t M : {1, 5, 20}) {
        const int64_t N = 1031, K = 517;
        const std::vector<float> A = random_values(static_cast<size_t>(M * K), rng, 1.0f);
        const std::vector<float> W = random_values(static_cast<size_t>(N * K), rng, 0.05f);
        const std::vector<float> bias = random_values(static_cast<size_t>(N), rng, 0.1f);
        std::vector<float> packed(static_cast<size_t>(kernels::packed_linear_floats(N, K)));
        kernels::pack_linear_weights(W.data(), K, N, K, packed.data());
        std::vector<float> one(static_cast<size_t>(M * N)), many(one.size());
        std::vector<float> one_packed(one.size()), many_packed(one.size());
        kernels::set_num_threads(1);
        kernels::linear(A.data(), K, W.data(), K, bias.data(), one.data(), N, M, N, K);
        kernels::linear_packed(A.data(), K, packed.data(), bias.data(), one_packed.data(), N, M, N, K);
        for (int threads : {2, 3, 7}) {
            kernels::set_num_threads(threads);
            REQUIRE(kernels::num_threads() == threads);
            kernels::linear(A.data(), K, W.data(), K, bias.data(), many.data(), N, M, N, K);
            kernels::linear_packed(A.data(), K, packed.data(), bias.data(), many_packed.data(), N, M,
                                   N, K);
            INFO("M " << M << " threads " << threads);
            REQUIRE(many == one);
            REQUIRE(many_packed == one_packed);
        }
        kernels::set_num_threads(1);
    }
}
