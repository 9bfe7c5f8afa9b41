#include "model/search_rank.h"

#include <algorithm>
#include <numeric>

namespace ember {

RowSummary summarize_row(const float* row, int64_t num_symbols, int64_t keep, float* values, int32_t* tokens) {
    RowSummary s;
    s.blank = row[num_symbols - 1];
    s.values = values;
    s.tokens = tokens;
    const int64_t n = num_symbols - 1;
    int64_t count = 0, j = 0;
    // Inserts row[j] at its place, behind the equal values already there.
    auto insert = [&](int64_t at) {
        const float v = row[j];
        for (; at > 0 && v > values[at - 1]; --at) {
            values[at] = values[at - 1];
            tokens[at] = tokens[at - 1];
        }
        values[at] = v;
        tokens[at] = static_cast<int32_t>(j);
    };
    for (; j < n && count < keep; ++j) {
        if (row[j] != row[j]) s.nan = true;
        else insert(count++);
    }
    for (; j < n; ++j) {
        if (row[j] > values[keep - 1]) insert(keep - 1);
        else if (row[j] != row[j]) s.nan = true;
    }
    s.count = count;
    return s;
}

// Without ties, the beam best of all n * (V - 1) scores are the beam best of
// the rows' beam + 1 best, in descending order whatever the sort. A tie
// matters only among scores above the threshold, between neighbours within the
// beam best or at its edge (the beam-th against the next): scores outside the
// summaries are never above a summary's last, so such a tie shows among them.
bool rank_summaries(const float* scores, const RowSummary* rows, int64_t n, int64_t beam, float threshold,
                    RankScratch& scratch, std::vector<Extension>& out) {
    std::vector<Extension>& candidates = scratch.candidates;
    candidates.clear();
    for (int64_t i = 0; i < n; ++i) {
        if (rows[i].nan || scores[i] != scores[i]) return false;
        for (int64_t k = 0; k < rows[i].count; ++k)
            candidates.push_back({i, rows[i].tokens[k], scores[i] + rows[i].values[k]});
    }
    const int64_t available = static_cast<int64_t>(candidates.size());
    const int64_t sorted = std::min(beam + 1, available);
    std::partial_sort(candidates.begin(), candidates.begin() + sorted, candidates.end(),
                      [](const Extension& x, const Extension& y) { return x.score > y.score; });
    for (int64_t k = 0; k + 1 < sorted; ++k) {
        const float score = candidates[static_cast<size_t>(k)].score;
        if (score == candidates[static_cast<size_t>(k + 1)].score && score > threshold) return false;
    }
    for (int64_t k = 0; k < std::min(beam, available); ++k)
        if (candidates[static_cast<size_t>(k)].score > threshold) out.push_back(candidates[static_cast<size_t>(k)]);
    return true;
}

// _compute_updated_scores: topk over (hypothesis, token) flattened row-major.
void rank_rows(const float* scores, const Tensor& log_probs, int64_t beam, float threshold, RankScratch& scratch,
               std::vector<Extension>& out) {
    const int64_t tokens = log_probs.cols - 1, count = log_probs.rows * tokens;
    std::vector<float>& all = scratch.scores;
    std::vector<int64_t>& order = scratch.order;
    all.resize(static_cast<size_t>(count));
    order.resize(static_cast<size_t>(count));
    for (int64_t i = 0; i < log_probs.rows; ++i) {
        const float* row = log_probs.row(i);
        for (int64_t j = 0; j < tokens; ++j) all[static_cast<size_t>(i * tokens + j)] = scores[i] + row[j];
    }
    const int64_t best = std::min(beam, count);
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + best, order.end(),
                      [&](int64_t x, int64_t y) { return all[static_cast<size_t>(x)] > all[static_cast<size_t>(y)]; });
    for (int64_t k = 0; k < best; ++k) {
        const int64_t index = order[static_cast<size_t>(k)];
        const float score = all[static_cast<size_t>(index)];
        if (score > threshold) out.push_back({index / tokens, index % tokens, score});
    }
}

}  // namespace ember
