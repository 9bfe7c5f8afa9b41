// The networks a beam search runs (model/beam_search.cpp), each call batched
// over hypotheses, their results kept in the decoder's predictor slots.
#pragma once

#include <vector>

#include "model/beam_search.h"

namespace ember {

// The predictor step of _gen_new_hypos and _init_b_hypos, batched: every
// sequence in `pending` gets a slot holding its predictor output and state,
// from its last token and the state in slot from[i] (-1: the zero state).
void predict(Decoder& decoder, const std::vector<int32_t>& pending, const std::vector<int32_t>& from);

// _gen_next_token_probs: log-probabilities (n, V) of the next token after each
// sequence held in `slots`, at one encoder frame, the joiner run once for all.
// The rows live in decoder.log_probs until the next call.
Tensor joiner(Decoder& decoder, const float* frame, const std::vector<int32_t>& slots);

// Scores the hypotheses of `a` not scored at frame t yet (an extension may
// re-create one that was) in one joiner call, keeping each one's summary in
// its slot.
void score_hypotheses(Decoder& decoder, const float* frame, int64_t t, const std::vector<SearchHypothesis>& a);

}  // namespace ember
