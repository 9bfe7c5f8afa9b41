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

void predictor_step(const Model& model, const int64_t* tokens, const float* const* states_in, float* const* states_out,
                    const Tensor& out, const PredictorScratch& scratch) {
    const EmformerRnntConfig& c = model.config();
    const PredictorWeights& w = model.weights.predictor;
    const int64_t n = out.rows, H = c.symbol_embedding_dim;
    EMBER_CHECK(n <= scratch.hidden.rows, "predictor_step: ", n, " rows but scratch for ", scratch.hidden.rows);
    const Tensor x = scratch.layer_input.rows_slice(0, n);
    ops::embedding(w.embedding, c.num_symbols, tokens, x);
    ops::layer_norm(x, w.input_layer_norm, kLayerNormEps, x);

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
        ops::linear(x, lw.x2g, gates);
        ops::linear(hidden, lw.p2g, recurrent);
        ops::add(recurrent, gates);
        kernels::lstm_cell(gates.data, gates.stride, lw.g_norm.weight, lw.g_norm.bias, lw.c_norm.weight,
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

void joiner_log_probs(const Model& model, const float* encoder_frame, const Tensor& predictor_out, float temperature,
                      const Tensor& hidden, const Tensor& log_probs) {
    const int64_t n = predictor_out.rows, E = predictor_out.cols;
    // relu(source + target), the joiner's activation (models/rnnt.py, _Joiner).
    for (int64_t i = 0; i < n; ++i) {
        const float* target = predictor_out.row(i);
        float* joint = hidden.row(i);
        for (int64_t j = 0; j < E; ++j) joint[j] = encoder_frame[j] + target[j];
    }
    const Tensor joint = hidden.rows_slice(0, n);
    ops::activate(joint, ops::Activation::relu);
    ops::linear(joint, model.weights.joiner.linear, log_probs);
    if (temperature != 1.0f) {
        for (int64_t i = 0; i < n; ++i) {
            float* row = log_probs.row(i);
            for (int64_t j = 0; j < log_probs.cols; ++j) row[j] /= temperature;
        }
    }
    kernels::log_softmax(log_probs.data, log_probs.stride, n, log_probs.cols);
}

}  // namespace ember
