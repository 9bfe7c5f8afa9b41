#include "model/predictor.h"

#include <algorithm>
#include <cstring>

#include "engine/ops.h"
#include "kernels/kernels.h"

namespace ember {

namespace {
constexpr float kLayerNormEps = 1e-5f;  // input and output layer norms (torch default)
}  // namespace

int64_t predictor_state_floats(const EmformerRnntConfig& c) { return c.num_lstm_layers * 2 * c.symbol_embedding_dim; }

PredictorScratch allocate_predictor_scratch(Arena& arena, const EmformerRnntConfig& c, int64_t max_rows) {
    const int64_t H = c.symbol_embedding_dim;
    PredictorScratch s;
    s.layer_input = arena.matrix(max_rows, H);
    s.gates = arena.matrix(max_rows, 4 * H);
    s.recurrent = arena.matrix(max_rows, 4 * H);
    s.hidden = arena.matrix(max_rows, H);
    s.cell = arena.matrix(max_rows, H);
    return s;
}

TokenGates make_token_gates(const EmformerRnntConfig& c, int64_t capacity, int64_t max_rows) {
    capacity = std::max(capacity, max_rows);
    TokenGates g;
    g.entry.assign(static_cast<size_t>(c.num_symbols), -1);
    g.token.assign(static_cast<size_t>(capacity), -1);
    g.used_at.assign(static_cast<size_t>(capacity), 0);
    g.gates.resize(static_cast<size_t>(capacity * 4 * c.symbol_embedding_dim));
    g.new_tokens.reserve(static_cast<size_t>(max_rows));
    return g;
}

namespace {

// x (n, H) -> the first layer's input gates (n, 4H): input_layer_norm, then x2g.
void first_input_gates(const Model& model, const int64_t* tokens, const Tensor& x, const Tensor& gates) {
    const PredictorWeights& w = model.weights.predictor;
    ops::embedding(w.embedding, model.config().num_symbols, tokens, x);
    ops::layer_norm(x, w.input_layer_norm, kLayerNormEps, x);
    ops::linear(x, w.lstm_layers[0].x2g, gates);
}

// first_input_gates through the gates kept per token: those of the tokens
// without are computed in one product (through scratch's layer_input and
// recurrent), once each, and kept in the entries used longest ago, which are
// never this step's as there are at least as many entries as rows.
void kept_input_gates(const Model& model, const int64_t* tokens, const Tensor& gates, const PredictorScratch& scratch,
                      TokenGates& g) {
    const int64_t n = gates.rows, G = gates.cols, num_symbols = model.config().num_symbols;
    g.new_tokens.clear();
    for (int64_t i = 0; i < n; ++i) {
        EMBER_CHECK(tokens[i] >= 0 && tokens[i] < num_symbols, "predictor_step: token id ", tokens[i],
                    " out of range [0, ", num_symbols, ")");
        const int32_t e = g.entry[static_cast<size_t>(tokens[i])];
        if (e >= 0) g.used_at[static_cast<size_t>(e)] = ++g.clock;
        else if (std::find(g.new_tokens.begin(), g.new_tokens.end(), tokens[i]) == g.new_tokens.end())
            g.new_tokens.push_back(tokens[i]);
    }
    const int64_t m = static_cast<int64_t>(g.new_tokens.size());
    if (m > 0) {
        const Tensor computed = scratch.recurrent.rows_slice(0, m);
        first_input_gates(model, g.new_tokens.data(), scratch.layer_input.rows_slice(0, m), computed);
        for (int64_t k = 0; k < m; ++k) {
            const auto oldest = std::min_element(g.used_at.begin(), g.used_at.end());
            const size_t e = static_cast<size_t>(oldest - g.used_at.begin());
            if (g.token[e] >= 0) g.entry[static_cast<size_t>(g.token[e])] = -1;
            g.token[e] = g.new_tokens[static_cast<size_t>(k)];
            g.entry[static_cast<size_t>(g.token[e])] = static_cast<int32_t>(e);
            g.used_at[e] = ++g.clock;
            std::copy(computed.row(k), computed.row(k) + G, g.gates.data() + e * static_cast<size_t>(G));
        }
    }
    for (int64_t i = 0; i < n; ++i) {
        const float* kept = g.gates.data() + g.entry[static_cast<size_t>(tokens[i])] * G;
        std::copy(kept, kept + G, gates.row(i));
    }
    g.reused += n - m;
}

}  // namespace

void predictor_step(const Model& model, const int64_t* tokens, const float* const* states_in, float* const* states_out,
                    const Tensor& out, const PredictorScratch& scratch, TokenGates* token_gates) {
    const EmformerRnntConfig& c = model.config();
    const PredictorWeights& w = model.weights.predictor;
    const int64_t n = out.rows, H = c.symbol_embedding_dim;
    EMBER_CHECK(n <= scratch.hidden.rows, "predictor_step: ", n, " rows but scratch for ", scratch.hidden.rows);
    const Tensor x = scratch.layer_input.rows_slice(0, n);
    const Tensor gates = scratch.gates.rows_slice(0, n), recurrent = scratch.recurrent.rows_slice(0, n);
    const Tensor hidden = scratch.hidden.rows_slice(0, n), cell = scratch.cell.rows_slice(0, n);
    const float eps = static_cast<float>(c.lstm_layer_norm_epsilon);
    for (int64_t layer = 0; layer < c.num_lstm_layers; ++layer) {
        const LstmLayerWeights& lw = w.lstm_layers[static_cast<size_t>(layer)];
        const int64_t h_at = layer * 2 * H, c_at = h_at + H;
        for (int64_t i = 0; i < n; ++i) {
            if (states_in[i]) {
                std::memcpy(hidden.row(i), states_in[i] + h_at, static_cast<size_t>(H) * sizeof(float));
                std::memcpy(cell.row(i), states_in[i] + c_at, static_cast<size_t>(H) * sizeof(float));
            } else {
                std::fill(hidden.row(i), hidden.row(i) + H, 0.0f);
                std::fill(cell.row(i), cell.row(i) + H, 0.0f);
            }
        }
        // gates = x2g(x) + p2g(h), as _CustomLSTM.forward adds them.
        if (layer > 0) ops::linear(x, lw.x2g, gates);
        else if (token_gates) kept_input_gates(model, tokens, gates, scratch, *token_gates);
        else first_input_gates(model, tokens, x, gates);
        ops::Epilogue plus_input_gates;
        plus_input_gates.residual = gates;
        ops::linear(hidden, lw.p2g, recurrent, plus_input_gates);
        kernels::lstm_cell(recurrent.data, recurrent.stride, lw.g_norm.weight, lw.g_norm.bias, lw.c_norm.weight,
                           lw.c_norm.bias, eps, cell.data, cell.stride, hidden.data, hidden.stride, n, H);
        for (int64_t i = 0; i < n; ++i) {
            std::memcpy(states_out[i] + h_at, hidden.row(i), static_cast<size_t>(H) * sizeof(float));
            std::memcpy(states_out[i] + c_at, cell.row(i), static_cast<size_t>(H) * sizeof(float));
        }
        ops::copy(hidden, x);  // the next layer's input
    }
    ops::linear(x, w.linear, out);
    ops::layer_norm(out, w.output_layer_norm, kLayerNormEps, out);
}

void joiner_log_probs(const Model& model, const float* const* encoder_frames, const float* temperatures,
                      const Tensor& predictor_out, const Tensor& hidden, const Tensor& log_probs) {
    const int64_t n = predictor_out.rows, E = predictor_out.cols;
    // relu(source + target), the joiner's activation (models/rnnt.py, _Joiner).
    for (int64_t i = 0; i < n; ++i) {
        const float* frame = encoder_frames[i];
        const float* target = predictor_out.row(i);
        float* joint = hidden.row(i);
        for (int64_t j = 0; j < E; ++j) joint[j] = frame[j] + target[j];
    }
    const Tensor joint = hidden.rows_slice(0, n);
    ops::activate(joint, ops::Activation::relu);
    ops::linear(joint, model.weights.joiner.linear, log_probs);
    for (int64_t i = 0; i < n; ++i) {
        if (temperatures[i] == 1.0f) continue;
        float* row = log_probs.row(i);
        for (int64_t j = 0; j < log_probs.cols; ++j) row[j] /= temperatures[i];
    }
    kernels::log_softmax(log_probs.data, log_probs.stride, n, log_probs.cols);
}

}  // namespace ember
