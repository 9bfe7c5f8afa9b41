// The kernels layer: every dispatched kernel against its scalar reference
// twin, for every ISA this CPU can run, over edge shapes (1, tile sizes +-1,
// prime K, odd strides, unaligned pointers); and the activations, softmax and
// layer norm against their formulas evaluated in double.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/kernels.h"

namespace kernels = ember::kernels;
using kernels::Isa;

namespace {

// Every ISA this CPU runs; tests sweep them and skip the others.
std::vector<Isa> supported_isas() {
    std::vector<Isa> isas;
    for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512})
        if (kernels::isa_supported(isa)) isas.push_back(isa);
    return isas;
}

// Forces an ISA for one scope and restores the previous one, also when a
// REQUIRE fails.
class IsaScope {
public:
    explicit IsaScope(Isa isa) : saved_(kernels::active_isa()) { kernels::set_isa(isa); }
    ~IsaScope() { kernels::set_isa(saved_); }
    IsaScope(const IsaScope&) = delete;
    IsaScope& operator=(const IsaScope&) = delete;

private:
    Isa saved_;
};

constexpr float kSentinel = 12345.0f;

// A float buffer whose data starts one float past an allocation boundary,
// so it is never 16-byte aligned; unused floats hold kSentinel.
class Buffer {
public:
    explicit Buffer(int64_t n) : storage_(size_t(n) + 1, kSentinel) {}
    float* data() { return storage_.data() + 1; }
    float& operator[](int64_t i) { return data()[i]; }
    int64_t size() const { return int64_t(storage_.size()) - 1; }

private:
    std::vector<float> storage_;
};

Buffer random_buffer(int64_t n, std::mt19937& rng, float lo, float hi) {
    Buffer b(n);
    std::uniform_real_distribution<float> dist(lo, hi);
    for (int64_t i = 0; i < n; ++i) b[i] = dist(rng);
    return b;
}

float max_abs(Buffer& b) {
    float m = 0.0f;
    for (int64_t i = 0; i < b.size(); ++i)
        if (b[i] != kSentinel) m = std::max(m, std::fabs(b[i]));
    return m;
}

// Inputs for the activations: a dense sweep of [-30, 30] and the special
// values around zero and at the ends.
std::vector<float> activation_inputs() {
    std::vector<float> x;
    for (int i = -6000; i <= 6000; ++i) x.push_back(float(i) * 0.005f);
    for (float s : {1e-38f, 1e-30f, 1e-7f, 1e-3f, 0.1f, 0.7f, 3.0f, 9.0f, 15.0f, 30.0f}) {
        x.push_back(s);
        x.push_back(-s);
    }
    x.push_back(0.0f);
    x.push_back(-0.0f);
    return x;
}

// Checks an in-place activation against `exact` (in double) within
// rel * |exact| + abs, and against its reference twin at every length and
// offset, for every ISA.
template <class Dispatched, class Reference, class Exact>
void check_activation(Dispatched dispatched, Reference reference, Exact exact, double rel,
                      double abs) {
    const std::vector<float> inputs = activation_inputs();
    for (Isa isa : supported_isas()) {
        IsaScope scope(isa);
        INFO("isa " << kernels::isa_name(isa));

        Buffer y(int64_t(inputs.size()));
        std::copy(inputs.begin(), inputs.end(), y.data());
        dispatched(y.data(), int64_t(inputs.size()));
        for (size_t i = 0; i < inputs.size(); ++i) {
            const double want = exact(double(inputs[i]));
            INFO("x = " << inputs[i] << ", got " << y[int64_t(i)] << ", want " << want);
            CHECK(std::fabs(double(y[int64_t(i)]) - want) <= rel * std::fabs(want) + abs);
        }

        std::mt19937 rng(7);
        for (int64_t n : {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1031}) {
            INFO("n " << n);
            Buffer got = random_buffer(n + 2, rng, -8.0f, 8.0f);
            Buffer want = got;
            dispatched(got.data(), n);
            reference(want.data(), n);
            for (int64_t i = 0; i < n; ++i)
                REQUIRE(std::fabs(got[i] - want[i]) <= 2 * rel * std::fabs(want[i]) + 2 * abs);
            REQUIRE(got[n] == want[n]);  // past the end: untouched
            REQUIRE(got[n + 1] == want[n + 1]);
        }
    }
}

}  // namespace

TEST_CASE("kernels: ISA dispatch", "[kernels]") {
    REQUIRE(kernels::isa_supported(Isa::generic));
    REQUIRE(kernels::isa_supported(kernels::active_isa()));
    REQUIRE(std::string(kernels::isa_name(Isa::generic)) == "generic");
    REQUIRE(std::string(kernels::isa_name(Isa::avx2)) == "avx2");
    REQUIRE(std::string(kernels::isa_name(Isa::avx512)) == "avx512");
    const Isa before = kernels::active_isa();
    for (Isa isa : supported_isas()) {
        IsaScope scope(isa);
        REQUIRE(kernels::active_isa() == isa);
    }
    REQUIRE(kernels::active_isa() == before);
    for (Isa isa : {Isa::avx2, Isa::avx512})
        if (!kernels::isa_supported(isa))
            REQUIRE_THROWS_AS(kernels::set_isa(isa), std::invalid_argument);
    REQUIRE(kernels::active_isa() == before);
}

// The weights of one linear in both forms the kernels take: rows ldw apart
// (kernels::linear) and packed in panels (kernels::linear_packed).
struct TestWeights {
    Buffer rows;
    std::vector<float> packed;
    int64_t ldw, N, K;
};

TestWeights random_weights(int64_t N, int64_t K, int64_t ldw, std::mt19937& rng) {
    TestWeights w{random_buffer(N * ldw, rng, -1.0f, 1.0f), {}, ldw, N, K};
    w.packed.assign(size_t(kernels::packed_linear_floats(N, K)), kSentinel);
    kernels::pack_linear_weights(w.rows.data(), ldw, N, K, w.packed.data());
    return w;
}

void dispatched_linear(bool packed, const float* A, int64_t lda, TestWeights& w, const float* bias,
                       float* C, int64_t ldc, int64_t M) {
    if (packed)
        kernels::linear_packed(A, lda, w.packed.data(), bias, C, ldc, M, w.N, w.K);
    else
        kernels::linear(A, lda, w.rows.data(), w.ldw, bias, C, ldc, M, w.N, w.K);
}

TEST_CASE("kernels: packing puts element (n, k) of W at panel n / 16, row k, column n % 16",
          "[kernels]") {
    REQUIRE(kernels::packed_linear_floats(1, 1) == 16);
    REQUIRE(kernels::packed_linear_floats(16, 3) == 48);
    REQUIRE(kernels::packed_linear_floats(17, 3) == 96);
    std::mt19937 rng(11);
    const int64_t N = 37, K = 5, ldw = 7;
    TestWeights w = random_weights(N, K, ldw, rng);
    for (int64_t j = 0; j < 3; ++j)
        for (int64_t k = 0; k < K; ++k)
            for (int64_t c = 0; c < 16; ++c) {
                const int64_t n = j * 16 + c;
                REQUIRE(w.packed[size_t((j * K + k) * 16 + c)] == (n < N ? w.rows[n * ldw + k] : 0.0f));
            }
}

TEST_CASE("kernels: linear matches the reference, with W in rows and packed", "[kernels]") {
    std::mt19937 rng(1);
    for (Isa isa : supported_isas()) {
        IsaScope scope(isa);
        for (int64_t M : {0, 1, 2, 3, 5, 7, 11, 12, 13, 24, 64}) {
            for (int64_t N : {1, 3, 8, 15, 16, 17, 33, 100}) {
                for (int64_t K : {1, 2, 7, 8, 15, 16, 17, 31, 97, 257, 1031}) {
                  for (bool packed : {false, true}) {
                    const bool with_bias = (M + N + K) % 2 == 0;
                    INFO("isa " << kernels::isa_name(isa) << " M " << M << " N " << N << " K " << K
                                << " bias " << with_bias << " packed " << packed);
                    const int64_t lda = K + 3, ldw = K + 1, ldc = N + 2;
                    Buffer A = random_buffer(M * lda, rng, -1.0f, 1.0f);
                    TestWeights W = random_weights(N, K, ldw, rng);
                    Buffer bias = random_buffer(N, rng, -1.0f, 1.0f);
                    const float* b = with_bias ? bias.data() : nullptr;
                    Buffer got(M * ldc), want(M * ldc), want_packed(M * ldc);
                    dispatched_linear(packed, A.data(), lda, W, b, got.data(), ldc, M);
                    kernels::ref::linear(A.data(), lda, W.rows.data(), ldw, b, want.data(), ldc, M,
                                         N, K);
                    // The reference of the packed form sums in the same order: the same bits.
                    kernels::ref::linear_packed(A.data(), lda, W.packed.data(), b, want_packed.data(),
                                                ldc, M, N, K);
                    for (int64_t i = 0; i < M * ldc; ++i) REQUIRE(want_packed[i] == want[i]);
                    const float tol = 1e-5f * std::sqrt(float(K)) * std::max(1.0f, max_abs(want));
                    for (int64_t i = 0; i < M * ldc; ++i) {
                        if (i % ldc >= N) {
                            REQUIRE(got[i] == kSentinel);  // the stride gap: untouched
                            continue;
                        }
                        REQUIRE(std::fabs(got[i] - want[i]) <= tol);
                    }
                  }
                }
            }
        }
    }
}

// What batching streams and reusing rows in the beam search stand on: a row
// of the output has the same bits whether it is computed alone, among a few
// rows, or deep inside a tall A (past the kernels' row tiles and cache blocks).
TEST_CASE("kernels: a row of linear's output does not depend on the other rows", "[kernels]") {
    std::mt19937 rng(12);
    const int64_t M = 250, N = 75, K = 300, lda = K + 1;
    Buffer A = random_buffer(M * lda, rng, -1.0f, 1.0f);
    TestWeights W = random_weights(N, K, K, rng);
    Buffer bias = random_buffer(N, rng, -1.0f, 1.0f);
    for (Isa isa : supported_isas()) {
        IsaScope scope(isa);
        for (bool packed : {false, true}) {
            Buffer all(M * N);
            dispatched_linear(packed, A.data(), lda, W, bias.data(), all.data(), N, M);
            for (int64_t first : {0, 1, 5, 17, 239, 240, 249}) {
                for (int64_t rows : {1, 2, 3, 5, 6, 7, 12, 13}) {
                    if (first + rows > M) continue;
                    INFO("isa " << kernels::isa_name(isa) << " packed " << packed << " rows "
                                << first << " + " << rows);
                    Buffer some(rows * N);
                    dispatched_linear(packed, A.data() + first * lda, lda, W, bias.data(), some.data(),
                                      N, rows);
                    for (int64_t i = 0; i < rows * N; ++i) REQUIRE(some[i] == all[first * N + i]);
                }
            }
        }
    }
}

// A fused epilogue must give the bits of the passes it replaces -- scale,
// the activation kernel, then add -- on both weight forms, over odd shapes,
// with K in one block and split (tall A), on several threads; and agree with
// the reference twin's epilogue.
TEST_CASE("kernels: a linear's epilogue equals the separate passes and the reference", "[kernels]") {
    std::mt19937 rng(21);
    const kernels::Activation activations[] = {kernels::Activation::none, kernels::Activation::relu,
                                               kernels::Activation::gelu, kernels::Activation::silu,
                                               kernels::Activation::tanh};
    void (*const activate[])(float*, int64_t) = {nullptr, kernels::relu, kernels::gelu, kernels::silu,
                                                 kernels::tanh};
    for (Isa isa : supported_isas()) {
        IsaScope scope(isa);
        for (int threads : {1, 2}) {
            kernels::set_num_threads(threads);
            for (int64_t M : {1, 2, 5, 7, 13, 30, 61}) {
                for (int64_t N : {1, 15, 17, 40, 100}) {
                    for (int64_t K : {1, 17, 300}) {
                        for (bool packed : {false, true}) {
                            const int a = int((M + N + K + packed) % 5);
                            const bool with_residual = (M + K) % 2 == 1, scaled = N % 2 == 1;
                            INFO("isa " << kernels::isa_name(isa) << " threads " << threads << " M " << M
                                        << " N " << N << " K " << K << " packed " << packed << " activation "
                                        << a << " residual " << with_residual << " scaled " << scaled);
                            const int64_t lda = K + 3, ldc = N + 2, ldr = N + 5;
                            Buffer A = random_buffer(M * lda, rng, -1.0f, 1.0f);
                            TestWeights W = random_weights(N, K, K + 1, rng);
                            Buffer bias = random_buffer(N, rng, -1.0f, 1.0f);
                            Buffer residual = random_buffer(M * ldr, rng, -2.0f, 2.0f);
                            kernels::LinearEpilogue epilogue;
                            epilogue.scale = scaled ? 0.125f : 1.0f;
                            epilogue.activation = activations[a];
                            if (with_residual) {
                                epilogue.residual = residual.data();
                                epilogue.ld_residual = ldr;
                            }
                            Buffer fused(M * ldc), separate(M * ldc), want(M * ldc);
                            if (packed)
                                kernels::linear_packed(A.data(), lda, W.packed.data(), bias.data(), fused.data(),
                                                       ldc, M, N, K, epilogue);
                            else
                                kernels::linear(A.data(), lda, W.rows.data(), W.ldw, bias.data(), fused.data(),
                                                ldc, M, N, K, epilogue);
                            dispatched_linear(packed, A.data(), lda, W, bias.data(), separate.data(), ldc, M);
                            for (int64_t m = 0; m < M; ++m) {
                                float* row = separate.data() + m * ldc;
                                for (int64_t n = 0; n < N; ++n) row[n] *= epilogue.scale;
                                if (activate[a]) activate[a](row, N);
                                if (with_residual) kernels::add(residual.data() + m * ldr, row, N);
                            }
                            kernels::ref::linear(A.data(), lda, W.rows.data(), W.ldw, bias.data(), want.data(),
                                                 ldc, M, N, K, epilogue);
                            const float tol = 1e-5f * std::sqrt(float(K)) * std::max(1.0f, max_abs(want));
                            for (int64_t i = 0; i < M * ldc; ++i) {
                                REQUIRE(fused[i] == separate[i]);
                                if (i % ldc >= N)
                                    REQUIRE(fused[i] == kSentinel);
                                else
                                    REQUIRE(std::fabs(fused[i] - want[i]) <= tol);
                            }
                        }
                    }
                }
            }
        }
        kernels::set_num_threads(1);
    }
}

TEST_CASE("kernels: linear degenerate shapes", "[kernels]") {
    for (Isa isa : supported_isas()) {
        IsaScope scope(isa);
        INFO("isa " << kernels::isa_name(isa));
        Buffer A(8), W(8), bias(3), C(6);
        for (int64_t i = 0; i < 3; ++i) bias[i] = float(i + 1);
        // K = 0: the empty sum, so C is the bias (or zero without one).
        kernels::linear(A.data(), 4, W.data(), 4, bias.data(), C.data(), 3, 2, 3, 0);
        for (int64_t i = 0; i < 6; ++i) REQUIRE(C[i] == float(i % 3 + 1));
        kernels::linear(A.data(), 4, W.data(), 4, nullptr, C.data(), 3, 2, 3, 0);
        for (int64_t i = 0; i < 6; ++i) REQUIRE(C[i] == 0.0f);
        kernels::linear_packed(A.data(), 4, W.data(), bias.data(), C.data(), 3, 2, 3, 0);
        for (int64_t i = 0; i < 6; ++i) REQUIRE(C[i] == float(i % 3 + 1));
        // M = 0 or N = 0: nothing to write.
        Buffer untouched(6);
        kernels::linear(A.data(), 4, W.data(), 4, bias.data(), untouched.data(), 3, 0, 3, 4);
        kernels::linear(A.data(), 4, W.data(), 4, bias.data(), untouched.data(), 3, 2, 0, 4);
        kernels::linear_packed(A.data(), 4, W.data(), bias.data(), untouched.data(), 3, 0, 3, 4);
        kernels::linear_packed(A.data(), 4, W.data(), bias.data(), untouched.data(), 3, 2, 0, 4);
        for (int64_t i = 0; i < 6; ++i) REQUIRE(untouched[i] == kSentinel);
    }
}

TEST_CASE("kernels: reference linear agrees with double precision", "[kernels]") {
    std::mt19937 rng(2);
    const int64_t M = 3, N = 5, K = 257;
    Buffer A = random_buffer(M * K, rng, -1.0f, 1.0f);
    Buffer W = random_buffer(N * K, rng, -1.0f, 1.0f);
    Buffer bias = random_buffer(N, rng, -1.0f, 1.0f);
    Buffer C(M * N);
    kernels::ref::linear(A.data(), K, W.data(), K, bias.data(), C.data(), N, M, N, K);
    for (int64_t m = 0; m < M; ++m) {
        for (int64_t n = 0; n < N; ++n) {
            double want = bias[n];
            for (int64_t k = 0; k < K; ++k) want += double(A[m * K + k]) * W[n * K + k];
            REQUIRE(std::fabs(C[m * N + n] - want) <= 1e-5 * std::sqrt(double(K)));
        }
    }
}

// The fused attention against its reference (in double) over odd head sizes,
// strides and splits of the keys, including empty blocks; and the split
// itself changes no bit: the keys in three blocks give what the same keys
// copied into one matrix give.
TEST_CASE("kernels: attention matches the reference, however the keys are split", "[kernels]") {
    std::mt19937 rng(4);
    for (Isa isa : supported_isas()) {
        IsaScope scope(isa);
        for (int64_t heads : {1, 3}) {
            for (int64_t head_dim : {1, 7, 8, 16, 17, 64}) {
                for (int64_t nq : {1, 2, 5, 13}) {
                    for (int64_t first : {0, 1, 4}) {
                        for (int64_t last : {0, 3, 30}) {
                            const int64_t d = heads * head_dim, middle = 5, nk = first + middle + last;
                            INFO("isa " << kernels::isa_name(isa) << " heads " << heads << " head_dim " << head_dim
                                        << " nq " << nq << " keys " << first << " + " << middle << " + " << last);
                            const int64_t ldq = d + 1, ldo = d + 2, ld = 2 * d + 3;
                            // Key and value rows side by side, as the Emformer keeps them.
                            Buffer query = random_buffer(nq * ldq, rng, -2.0f, 2.0f);
                            Buffer a = random_buffer(first * ld, rng, -1.0f, 1.0f);
                            Buffer b = random_buffer(middle * ld, rng, -1.0f, 1.0f);
                            Buffer c = random_buffer(last * ld, rng, -1.0f, 1.0f);
                            Buffer all(nk * ld);
                            std::copy(a.data(), a.data() + first * ld, all.data());
                            std::copy(b.data(), b.data() + middle * ld, all.data() + first * ld);
                            std::copy(c.data(), c.data() + last * ld, all.data() + (first + middle) * ld);
                            const kernels::KeyValueRows split[] = {{a.data(), a.data() + d, ld, ld, first},
                                                                   {b.data(), b.data() + d, ld, ld, middle},
                                                                   {c.data(), c.data() + d, ld, ld, last}};
                            const kernels::KeyValueRows whole[] = {{all.data(), all.data() + d, ld, ld, nk}};
                            Buffer scores(nq * nk), got(nq * ldo), joined(nq * ldo), want(nq * ldo);
                            kernels::attention(query.data(), ldq, nq, split, 3, heads, head_dim, scores.data(),
                                               got.data(), ldo);
                            kernels::attention(query.data(), ldq, nq, whole, 1, heads, head_dim, scores.data(),
                                               joined.data(), ldo);
                            kernels::ref::attention(query.data(), ldq, nq, split, 3, heads, head_dim,
                                                    scores.data(), want.data(), ldo);
                            for (int64_t i = 0; i < nq * ldo; ++i) {
                                REQUIRE(got[i] == joined[i]);
                                if (i % ldo >= d)
                                    REQUIRE(got[i] == kSentinel);
                                else
                                    REQUIRE(std::fabs(got[i] - want[i]) <= 2e-5f * std::sqrt(float(head_dim)));
                            }
                        }
                    }
                }
            }
        }
    }
}

TEST_CASE("kernels: reference attention is softmax(q k^T) v", "[kernels]") {
    // Two keys, one head of width 1: scores q*k, weights e^s / sum.
    const float query[] = {2.0f};
    const float key_value[] = {1.0f, 10.0f, -1.0f, 20.0f};  // (key, value) per row
    const kernels::KeyValueRows block[] = {{key_value, key_value + 1, 2, 2, 2}};
    float scores[2], out[1];
    kernels::ref::attention(query, 1, 1, block, 1, 1, 1, scores, out, 1);
    const double w0 = std::exp(2.0) / (std::exp(2.0) + std::exp(-2.0));
    REQUIRE(std::fabs(out[0] - (w0 * 10.0 + (1.0 - w0) * 20.0)) <= 1e-5);
}

TEST_CASE("kernels: relu", "[kernels]") {
    check_activation(kernels::relu, kernels::ref::relu,
                     [](double x) { return x > 0 ? x : 0.0; }, 0.0, 0.0);
}

TEST_CASE("kernels: gelu is torch's exact erf form", "[kernels]") {
    // Relative accuracy is limited by rounding x / sqrt(2) to float, which
    // erfc amplifies in its tail; there the absolute error is far below 1e-7.
    check_activation(kernels::gelu, kernels::ref::gelu,
                     [](double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); },
                     2e-6, 1e-7);
}

TEST_CASE("kernels: silu", "[kernels]") {
    check_activation(kernels::silu, kernels::ref::silu,
                     [](double x) { return x / (1.0 + std::exp(-x)); }, 5e-7, 1e-37);
}

TEST_CASE("kernels: tanh", "[kernels]") {
    check_activation(kernels::tanh, kernels::ref::tanh, [](double x) { return std::tanh(x); },
                     5e-7, 1e-37);
}

TEST_CASE("kernels: sigmoid", "[kernels]") {
    check_activation(kernels::sigmoid, kernels::ref::sigmoid,
                     [](double x) { return 1.0 / (1.0 + std::exp(-x)); }, 5e-7, 1e-37);
}

TEST_CASE("kernels: add", "[kernels]") {
    std::mt19937 rng(4);
    for (Isa isa : supported_isas()) {
        IsaScope scope(isa);
        for (int64_t n : {0, 1, 7, 8, 9, 17, 100, 1031}) {
            INFO("isa " << kernels::isa_name(isa) << " n " << n);
            Buffer x = random_buffer(n, rng, -1.0f, 1.0f);
            Buffer got = random_buffer(n + 1, rng, -1.0f, 1.0f);
            Buffer want = got;
            kernels::add(x.data(), got.data(), n);
            kernels::ref::add(x.data(), want.data(), n);
            for (int64_t i = 0; i <= n; ++i) REQUIRE(got[i] == want[i]);
        }
    }
}

TEST_CASE("kernels: softmax", "[kernels]") {
    std::mt19937 rng(5);
    for (Isa isa : supported_isas()) {
        IsaScope scope(isa);
        for (int64_t rows : {1, 3}) {
            for (int64_t cols : {1, 2, 7, 8, 15, 16, 17, 31, 97, 257}) {
                INFO("isa " << kernels::isa_name(isa) << " rows " << rows << " cols " << cols);
                const int64_t ldx = cols + 3;
                Buffer got = random_buffer(rows * ldx, rng, -30.0f, 30.0f);
                Buffer want = got;
                Buffer input = got;
                kernels::softmax(got.data(), ldx, rows, cols);
                kernels::ref::softmax(want.data(), ldx, rows, cols);
                for (int64_t r = 0; r < rows; ++r) {
                    const float* in = input.data() + r * ldx;
                    const double max = *std::max_element(in, in + cols);
                    double sum = 0.0;
                    for (int64_t i = 0; i < cols; ++i) sum += std::exp(in[i] - max);
                    for (int64_t i = 0; i < ldx; ++i) {
                        const int64_t at = r * ldx + i;
                        if (i >= cols) {
                            REQUIRE(got[at] == input[at]);
                            continue;
                        }
                        const double exact = std::exp(in[i] - max) / sum;
                        // x - max rounds to float (as in torch) before exp
                        // turns that absolute error into a relative one.
                        const double rel = 1e-6 + 1.2e-7 * std::fabs(in[i] - max);
                        REQUIRE(std::fabs(got[at] - exact) <= rel * exact + 1e-30);
                        REQUIRE(std::fabs(got[at] - want[at]) <= rel * want[at] + 1e-30);
                    }
                }
            }
        }
    }
}

TEST_CASE("kernels: layer_norm", "[kernels]") {
    std::mt19937 rng(6);
    const float eps = 1e-5f;
    for (Isa isa : supported_isas()) {
        IsaScope scope(isa);
        for (int64_t rows : {1, 3}) {
            for (int64_t dim : {1, 2, 7, 8, 15, 16, 17, 31, 97, 257, 1031}) {
                for (bool in_place : {false, true}) {
                    INFO("isa " << kernels::isa_name(isa) << " rows " << rows << " dim " << dim
                                << " in place " << in_place);
                    const int64_t ldx = dim + 1, ldy = in_place ? ldx : dim + 2;
                    // An offset mean, which a one-pass variance would cancel away.
                    Buffer x = random_buffer(rows * ldx, rng, 4.0f, 6.0f);
                    Buffer gamma = random_buffer(dim, rng, 0.5f, 1.5f);
                    Buffer beta = random_buffer(dim, rng, -1.0f, 1.0f);
                    Buffer input = x;
                    Buffer got_storage(rows * ldy), want(rows * ldy);
                    float* got = in_place ? x.data() : got_storage.data();
                    kernels::layer_norm(x.data(), ldx, gamma.data(), beta.data(), eps, got, ldy,
                                        rows, dim);
                    kernels::ref::layer_norm(input.data(), ldx, gamma.data(), beta.data(), eps,
                                             want.data(), ldy, rows, dim);
                    for (int64_t r = 0; r < rows; ++r) {
                        const float* in = input.data() + r * ldx;
                        double mean = 0.0, var = 0.0;
                        for (int64_t i = 0; i < dim; ++i) mean += in[i];
                        mean /= double(dim);
                        for (int64_t i = 0; i < dim; ++i) var += (in[i] - mean) * (in[i] - mean);
                        const double rstd = 1.0 / std::sqrt(var / double(dim) + eps);
                        for (int64_t i = 0; i < dim; ++i) {
                            const double exact = (in[i] - mean) * rstd * gamma[i] + beta[i];
                            const float value = got[r * ldy + i];
                            REQUIRE(std::fabs(value - exact) <= 1e-5 * (1.0 + std::fabs(exact)));
                            REQUIRE(std::fabs(value - want[r * ldy + i]) <=
                                    1e-5 * (1.0 + std::fabs(exact)));
                        }
                        if (!in_place)
                            for (int64_t i = dim; i < ldy && r * ldy + i < rows * ldy; ++i)
                                REQUIRE(got[r * ldy + i] == kSentinel);
                    }
                }
            }
        }
    }
}

TEST_CASE("kernels: residual_layer_norm is add then layer_norm, in one pass", "[kernels]") {
    std::mt19937 rng(22);
    const float eps = 1e-5f;
    for (Isa isa : supported_isas()) {
        IsaScope scope(isa);
        for (int64_t rows : {1, 4}) {
            for (int64_t dim : {1, 7, 16, 17, 97, 512}) {
                for (bool in_place : {false, true}) {
                    INFO("isa " << kernels::isa_name(isa) << " rows " << rows << " dim " << dim << " in place "
                                << in_place);
                    const int64_t ldx = dim + 1, ldy = dim + 3, ldo = in_place ? ldy : dim + 2;
                    Buffer x = random_buffer(rows * ldx, rng, -1.0f, 1.0f);
                    Buffer y = random_buffer(rows * ldy, rng, 3.0f, 5.0f);
                    Buffer gamma = random_buffer(dim, rng, 0.5f, 1.5f);
                    Buffer beta = random_buffer(dim, rng, -1.0f, 1.0f);
                    Buffer y_separate = y, y_ref = y;
                    Buffer out_storage(rows * ldo), separate(rows * ldo), want(rows * ldo);
                    float* out = in_place ? y.data() : out_storage.data();
                    kernels::residual_layer_norm(x.data(), ldx, y.data(), ldy, gamma.data(), beta.data(), eps, out,
                                                 ldo, rows, dim);
                    for (int64_t r = 0; r < rows; ++r)
                        kernels::add(x.data() + r * ldx, y_separate.data() + r * ldy, dim);
                    kernels::layer_norm(y_separate.data(), ldy, gamma.data(), beta.data(), eps, separate.data(), ldo,
                                        rows, dim);
                    kernels::ref::residual_layer_norm(x.data(), ldx, y_ref.data(), ldy, gamma.data(), beta.data(),
                                                      eps, want.data(), ldo, rows, dim);
                    for (int64_t r = 0; r < rows; ++r) {
                        for (int64_t i = 0; i < dim; ++i) {
                            REQUIRE(out[r * ldo + i] == separate[r * ldo + i]);
                            REQUIRE(std::fabs(out[r * ldo + i] - want[r * ldo + i]) <=
                                    1e-5 * (1.0 + std::fabs(want[r * ldo + i])));
                            if (!in_place) REQUIRE(y[r * ldy + i] == y_separate[r * ldy + i]);
                        }
                    }
                }
            }
        }
    }
}
