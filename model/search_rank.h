// Ranking a round's extensions as RNNTBeamSearch does (_compute_updated_scores
// and the b_nbest test of _gen_a_hypos, models/rnnt_decoder.py) without
// materialising every score: a hypothesis's log-probabilities at a frame are
// summarised once by their beam + 1 largest, which fix the ranking unless
// scores tie; then the full ranking, exactly as torch.topk orders ties, is
// the fallback.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace ember {

// One hypothesis's log-probabilities at one frame, as far as the search needs
// them: the blank's (the last symbol's) and the `count` largest non-blank ones.
struct RowSummary {
    float blank = 0.0f;
    bool nan = false;  // some non-blank log-probability is NaN (not in values)
    int64_t count = 0;
    const float* values = nullptr;    // (count): descending, equal values in token order
    const int32_t* tokens = nullptr;  // (count): their tokens
};

// Summarises row (num_symbols) into values/tokens, which have room for `keep`.
RowSummary summarize_row(const float* row, int64_t num_symbols, int64_t keep, float* values, int32_t* tokens);

// Hypothesis `hypothesis` of a round followed by `token`, and the float32 score
// that extension has (the hypothesis's score + the token's log-probability).
struct Extension {
    int64_t hypothesis = 0;
    int64_t token = 0;
    float score = 0.0f;
};

// Scratch of the rankings; vectors only grow.
struct RankScratch {
    std::vector<Extension> candidates;  // rank_summaries
    std::vector<float> scores;          // rank_rows: (n * (num_symbols - 1))
    std::vector<int64_t> order;         // rank_rows
};

// torchaudio's ranking of the extensions of n hypotheses scoring scores[i]:
// of the `beam` best of scores[i] + log P_i(token) over every i and non-blank
// token, in torch.topk's order, those scoring above `threshold` (b_nbest_score)
// are appended to `out`.
//
// rank_summaries decides it from summaries made with keep >= beam + 1. It
// returns false, appending nothing, when tied scores or NaNs among the best
// leave the order to topk's tie-breaking, which only rank_rows reproduces.
bool rank_summaries(const float* scores, const RowSummary* rows, int64_t n, int64_t beam, float threshold,
                    RankScratch& scratch, std::vector<Extension>& out);
// rank_rows decides it from every log-probability, log_probs (n, num_symbols).
void rank_rows(const float* scores, const Tensor& log_probs, int64_t beam, float threshold, RankScratch& scratch,
               std::vector<Extension>& out);

}  // namespace ember
