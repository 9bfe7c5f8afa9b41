// The prediction network (torchaudio models/rnnt.py, _Predictor) one token
// step at a time, batched over hypotheses: embedding -> input layer norm ->
// _CustomLSTM layers -> linear -> output layer norm.
#pragma once

#include <vector>

#include "engine/arena.h"
#include "model/model.h"

namespace ember {

// Floats of one hypothesis's predictor state: h then c of every LSTM layer,
// (num_lstm_layers, 2, H). The carried c is the one after c_norm, as torch's.
int64_t predictor_state_floats(const EmformerRnntConfig& config);

// Scratch for steps of up to `max_rows` tokens at once.
struct PredictorScratch {
    Tensor layer_input;  // (rows, H)
    Tensor gates;        // (rows, 4H)
    Tensor recurrent;    // (rows, 4H): p2g(h)
    Tensor hidden;       // (rows, H)
    Tensor cell;         // (rows, H)
};
PredictorScratch allocate_predictor_scratch(Arena& arena, const EmformerRnntConfig& config, int64_t max_rows);

// The first LSTM layer's input gates, x2g(input_layer_norm(embedding[token])),
// depend on the token alone. A stream keeps them for the `capacity` tokens it
// used last (at least a step's rows): a step whose tokens are all kept skips
// that product, one with some kept runs it on fewer rows (each row's values
// are the same either way).
struct TokenGates {
    std::vector<int32_t> entry;     // (num_symbols): each token's entry, -1: none
    std::vector<int64_t> token;     // (capacity): each entry's token, -1: none
    std::vector<int64_t> used_at;   // (capacity): when each entry was last used
    std::vector<float> gates;       // (capacity, 4H)
    std::vector<int64_t> new_tokens;  // scratch: a step's tokens without gates kept, (max_rows)
    int64_t clock = 0;
    int64_t reused = 0;  // rows that did not go through the product (statistics)
};
TokenGates make_token_gates(const EmformerRnntConfig& config, int64_t capacity, int64_t max_rows);

// One step for n = out.rows tokens: token i enters with state states_in[i]
// (null: the zero state torchaudio starts from) and leaves its new state in
// states_out[i] (which may equal states_in[i]) and its output in out row i (E).
// token_gates, when given, keeps and reuses the first layer's input gates.
void predictor_step(const Model& model, const int64_t* tokens, const float* const* states_in, float* const* states_out,
                    const Tensor& out, const PredictorScratch& scratch, TokenGates* token_gates = nullptr);

// torchaudio's _Joiner followed by RNNTBeamSearch's log_softmax(x / temperature):
// log_probs (n, num_symbols) of n predictor outputs (n, E), row i against the
// encoder frame encoder_frames[i] (E) with temperatures[i], so that one call
// serves the hypotheses of several searches (each row's values are the same
// either way). hidden is scratch of (n, E).
void joiner_log_probs(const Model& model, const float* const* encoder_frames, const float* temperatures,
                      const Tensor& predictor_out, const Tensor& hidden, const Tensor& log_probs);

}  // namespace ember
