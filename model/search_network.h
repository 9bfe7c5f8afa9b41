// The networks a beam search runs (model/beam_search.cpp), each call batched
// over hypotheses -- those of one search, or of several searches advanced in
// lockstep -- their results kept in each decoder's predictor slots.
#pragma once

#include <vector>

#include "model/beam_search.h"

namespace ember {

// Grows `networks` to take `rows` hypotheses in one call (reallocating only
// when it holds fewer).
void reserve_rows(SearchNetworks& networks, const EmformerRnntConfig& config, int64_t rows);

// The encoder frame a decoder's search is at, and its index in the search.
inline const float* cursor_frame(const Decoder& d) { return d.cursor.encoder_out.row(d.cursor.row); }
inline int64_t cursor_frame_index(const Decoder& d) { return d.frames_searched + d.cursor.row; }
// Whether a decoder's search waits for the predictor (predict_pending).
inline bool awaits_prediction(const Decoder& d) {
    return d.cursor.stage == SearchCursor::Stage::initial_prediction ||
           d.cursor.stage == SearchCursor::Stage::extension_prediction;
}

// The predictor step of _gen_new_hypos and _init_b_hypos, one call for the
// searches waiting for it (stage initial_prediction or extension_prediction):
// every sequence in a decoder's scratch.pending gets a slot (then in its
// scratch.rows) holding its predictor output and state, from its last token
// and the state in slot scratch.from[i] (-1: the zero state).
void predict_pending(SearchNetworks& networks, const ChunkSearch* searches, int64_t count);

// _gen_next_token_probs, one joiner call for the searches at stage scoring:
// the hypotheses of each one's scratch.a not yet scored at its frame (an
// extension may re-create one that was, or an earlier call scored it ahead)
// are, at that frame and the rest of its block of SearchOptions::score_frames
// frames, and each summary is kept in its slot.
void score_hypotheses(SearchNetworks& networks, const ChunkSearch* searches, int64_t count);

// _gen_next_token_probs of one search: log-probabilities (n, V) of the next
// token after each sequence held in `slots`, at one encoder frame, in the
// decoder's own networks, where the rows live until its next call.
Tensor joiner(Decoder& decoder, const float* frame, const std::vector<int32_t>& slots);

}  // namespace ember
