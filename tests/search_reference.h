// The beam search written as a plain transliteration of torchaudio 0.13.1's
// RNNTBeamSearch._search (models/rnnt_decoder.py): every hypothesis carries
// its own token and frame lists, every extension runs the predictor, every
// round runs the joiner on every hypothesis and ranks all of its scores.
// It is model/beam_search.cpp's reference twin, as kernels/ref.cpp is to the
// SIMD kernels: tests check that search() returns bit-identical hypotheses,
// and bench/search_bench.cpp times both.
#pragma once

#include <vector>

#include "engine/arena.h"
#include "model/beam_search.h"

namespace ember::test {

// Per-stream state of the reference search: a pool of predictor slots
// (output and LSTM state per hypothesis) and the scratch of joiner and predictor.
struct ReferenceDecoder {
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

ReferenceDecoder make_reference_decoder(const Model& model, const SearchOptions& options);

// search() by the reference: the same contract, a seed's slot being one of
// this decoder's.
std::vector<Hypothesis> reference_search(ReferenceDecoder& decoder, const Tensor& encoder_out, const Hypothesis* seed);

}  // namespace ember::test
