// The predictor step and the joiner on fixture models, against a plain
// double-precision evaluation of torchaudio's _Predictor / _Joiner written
// straight from models/rnnt.py.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "model/predictor.h"
#include "tests/test_support.h"

namespace {

using Vector = std::vector<double>;

Vector linear(const ember::LinearWeights& w, const Vector& x) {
    const std::vector<float> weight = ember::test::row_major_weight(w);
    Vector y(static_cast<size_t>(w.out_features));
    for (int64_t o = 0; o < w.out_features; ++o) {
        double sum = w.bias ? w.bias[o] : 0.0;
        for (int64_t i = 0; i < w.in_features; ++i) sum += double(weight[size_t(o * w.in_features + i)]) * x[size_t(i)];
        y[size_t(o)] = sum;
    }
    return y;
}

Vector layer_norm(const ember::LayerNormWeights& w, const Vector& x, double eps) {
    double mean = 0.0, var = 0.0;
    for (double v : x) mean += v;
    mean /= double(x.size());
    for (double v : x) var += (v - mean) * (v - mean);
    var /= double(x.size());
    Vector y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = (x[i] - mean) / std::sqrt(var + eps) * w.weight[i] + w.bias[i];
    return y;
}

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// One _Predictor step from the zero state; returns the output and fills h, c per layer.
Vector reference_predictor(const ember::Model& model, int64_t token, std::vector<Vector>& hs, std::vector<Vector>& cs) {
    const ember::EmformerRnntConfig& c = model.config();
    const ember::PredictorWeights& w = model.weights.predictor;
    const int64_t H = c.symbol_embedding_dim;
    Vector x(w.embedding + token * H, w.embedding + (token + 1) * H);
    x = layer_norm(w.input_layer_norm, x, 1e-5);
    for (const ember::LstmLayerWeights& lw : w.lstm_layers) {
        Vector gates = linear(lw.x2g, x);  // + p2g(h) with h = 0
        if (c.lstm_layer_norm) gates = layer_norm(lw.g_norm, gates, c.lstm_layer_norm_epsilon);
        Vector cell(static_cast<size_t>(H)), hidden(static_cast<size_t>(H));
        for (int64_t j = 0; j < H; ++j) cell[size_t(j)] = sigmoid(gates[size_t(j)]) * std::tanh(gates[size_t(2 * H + j)]);
        if (c.lstm_layer_norm) cell = layer_norm(lw.c_norm, cell, c.lstm_layer_norm_epsilon);
        for (int64_t j = 0; j < H; ++j) hidden[size_t(j)] = sigmoid(gates[size_t(3 * H + j)]) * std::tanh(cell[size_t(j)]);
        hs.push_back(hidden);
        cs.push_back(cell);
        x = hidden;
    }
    return layer_norm(w.output_layer_norm, linear(w.linear, x), 1e-5);
}

}  // namespace

TEST_CASE("predictor step and joiner match a double-precision evaluation", "[decoder]") {
    // s1: LSTM without layer norm, 1 layer; s2: with layer norm, 2 layers.
    for (const char* name : {"s1_relu_1layer_1head", "s2_silu_mem_clamp"}) {
        INFO(name);
        const ember::Model model = ember::test::convert_and_load_fixture(name);
        const ember::EmformerRnntConfig& c = model.config();
        ember::Arena arena(1 << 20);
        const ember::PredictorScratch scratch = ember::allocate_predictor_scratch(arena, c, 3);
        const std::vector<int64_t> tokens = {c.num_symbols - 1, 0, c.num_symbols / 2};
        const int64_t n = int64_t(tokens.size()), E = c.encoding_dim;
        std::vector<float> states(size_t(n * ember::predictor_state_floats(c)));
        std::vector<const float*> in(size_t(n), nullptr);
        std::vector<float*> out;
        for (int64_t i = 0; i < n; ++i) out.push_back(states.data() + i * ember::predictor_state_floats(c));
        const ember::Tensor predicted = arena.matrix(n, E);
        ember::predictor_step(model, tokens.data(), in.data(), out.data(), predicted, scratch);

        const ember::Tensor hidden = arena.matrix(n, E), log_probs = arena.matrix(n, c.num_symbols);
        // Each row its own encoder frame and temperature (rows of different searches).
        std::vector<std::vector<float>> frames(size_t(n), std::vector<float>(static_cast<size_t>(E)));
        std::vector<const float*> frame_rows;
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t j = 0; j < E; ++j) frames[size_t(i)][size_t(j)] = std::sin(0.37 * double(j) + double(i)) * 1.5f;
            frame_rows.push_back(frames[size_t(i)].data());
        }
        const std::vector<float> temperatures = {1.3f, 1.0f, 0.7f};
        ember::joiner_log_probs(model, frame_rows.data(), temperatures.data(), predicted, hidden, log_probs);

        for (int64_t i = 0; i < n; ++i) {
            std::vector<Vector> hs, cs;
            const Vector expected = reference_predictor(model, tokens[size_t(i)], hs, cs);
            for (int64_t j = 0; j < E; ++j) REQUIRE(std::fabs(predicted.row(i)[j] - expected[size_t(j)]) < 1e-4);
            const int64_t H = c.symbol_embedding_dim;
            for (size_t layer = 0; layer < hs.size(); ++layer)
                for (int64_t j = 0; j < H; ++j) {
                    REQUIRE(std::fabs(out[size_t(i)][layer * 2 * H + j] - hs[layer][size_t(j)]) < 1e-4);
                    REQUIRE(std::fabs(out[size_t(i)][layer * 2 * H + H + j] - cs[layer][size_t(j)]) < 1e-4);
                }
            // Joiner: log_softmax(linear(relu(frame + predictor)) / temperature).
            const std::vector<float>& frame = frames[size_t(i)];
            const double temperature = temperatures[size_t(i)];
            Vector joint(static_cast<size_t>(E));
            for (int64_t j = 0; j < E; ++j) joint[size_t(j)] = std::max(0.0, double(frame[size_t(j)]) + expected[size_t(j)]);
            Vector logits = linear(model.weights.joiner.linear, joint);
            double max = -1e300, sum = 0.0;
            for (double& v : logits) max = std::max(max, v /= temperature);
            for (double v : logits) sum += std::exp(v - max);
            for (int64_t k = 0; k < c.num_symbols; ++k)
                REQUIRE(std::fabs(log_probs.row(i)[k] - (logits[size_t(k)] - max - std::log(sum))) < 1e-4);
        }
    }
}

TEST_CASE("predictor step with input gates kept per token gives the same bits", "[decoder]") {
    // Three entries (the fewest) for steps of three tokens out of five: entries
    // are evicted all the time, a step repeats tokens, some find theirs kept.
    for (const char* name : {"s1_relu_1layer_1head", "s2_silu_mem_clamp"}) {
        INFO(name);
        const ember::Model model = ember::test::convert_and_load_fixture(name);
        const ember::EmformerRnntConfig& c = model.config();
        const int64_t n = 3, S = ember::predictor_state_floats(c), E = c.encoding_dim;
        ember::Arena arena(1 << 20);
        const ember::PredictorScratch scratch = ember::allocate_predictor_scratch(arena, c, n);
        ember::TokenGates gates = ember::make_token_gates(c, n, n);
        std::vector<float> state(size_t(n * S)), plain_state(size_t(n * S)), kept_state(size_t(n * S));
        for (size_t i = 0; i < state.size(); ++i) state[i] = float(std::sin(0.7 * double(i)));
        const ember::Tensor plain = arena.matrix(n, E), kept = arena.matrix(n, E);
        std::vector<const float*> in;
        std::vector<float*> plain_out, kept_out;
        for (int64_t i = 0; i < n; ++i) {
            in.push_back(state.data() + i * S);
            plain_out.push_back(plain_state.data() + i * S);
            kept_out.push_back(kept_state.data() + i * S);
        }
        for (int64_t step = 0; step < 40; ++step) {
            const int64_t first = (step * 5) % 4;
            const std::vector<int64_t> tokens = {first, (step * 3) % 5, step % 3 == 0 ? first : 1};
            ember::predictor_step(model, tokens.data(), in.data(), plain_out.data(), plain, scratch);
            ember::predictor_step(model, tokens.data(), in.data(), kept_out.data(), kept, scratch, &gates);
            for (int64_t i = 0; i < n; ++i)
                REQUIRE(std::memcmp(plain.row(i), kept.row(i), size_t(E) * sizeof(float)) == 0);
            REQUIRE(std::memcmp(plain_state.data(), kept_state.data(), plain_state.size() * sizeof(float)) == 0);
        }
        CHECK(gates.reused > 0);
    }
}
