// RNN-T beam search exactly as torchaudio 0.13.1's RNNTBeamSearch
// (models/rnnt_decoder.py): `_search` over encoder frames, seeded for
// streaming as `infer` does, plus a greedy path for beam 1 that reaches the
// same result without the bookkeeping.
#pragma once

#include <vector>

#include "engine/arena.h"
#include "model/model.h"
#include "model/predictor.h"

namespace ember {

struct SearchOptions {
    int64_t beam = 10;
    float temperature = 1.0f;
    int64_t step_max_tokens = 100;  // tokens emitted per encoder frame at most
};

// Throws ember::Error when the model or options cannot be searched as
// torchaudio does (blank not the last symbol, beam larger than the
// non-blank vocabulary, temperature not positive, ...).
void check_search_options(const ModelMetadata& metadata, const SearchOptions& options);

// torchaudio's Hypothesis without its tensors: the tokens (the first being
// the blank, or the previous chunk's last token when seeded), the float32
// score, and which predictor slot holds its predictor output and state.
struct Hypothesis {
    std::vector<int64_t> tokens;
    std::vector<int64_t> frames;  // encoder frame each token was emitted at (-1 for the first)
    float score = 0.0f;
    int64_t slot = -1;
};

// Per-stream search state: a pool of predictor slots (output and LSTM state
// per distinct hypothesis) and the scratch of joiner and predictor.
struct Decoder {
    const Model* model = nullptr;
    SearchOptions options;
    std::vector<float> slot_outputs;  // (slots, encoding_dim)
    std::vector<float> slot_states;   // (slots, predictor_state_floats)
    std::vector<char> slot_live;
    std::vector<int64_t> free_slots;
    Arena arena;
    PredictorScratch predictor;
    Tensor predicted;  // (beam, E): predictor outputs before they go to their slots
    Tensor targets;    // (beam, E): predictor outputs of the hypotheses being extended
    Tensor joint;      // (beam, E): joiner scratch
    Tensor log_probs;  // (beam, num_symbols)
};

Decoder make_decoder(const Model& model, const SearchOptions& options);

// Searches encoder frames (T, E). seed == null starts from the blank with a
// zero predictor state (RNNTBeamSearch.forward and the first infer call);
// otherwise the search restarts from seed's last token and state, score 0,
// as infer does with the hypothesis it is given. Returns up to `beam`
// hypotheses in torchaudio's order (best first by score / (tokens + 1)).
// The returned hypotheses' slots stay valid until the next search call.
std::vector<Hypothesis> search(Decoder& decoder, const Tensor& encoder_out, const Hypothesis* seed);

}  // namespace ember
