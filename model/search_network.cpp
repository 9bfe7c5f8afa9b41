#include "model/search_network.h"

#include <algorithm>

namespace ember {

void predict(Decoder& d, const std::vector<int32_t>& pending, const std::vector<int32_t>& from) {
    SearchScratch& s = d.scratch;
    const int64_t n = static_cast<int64_t>(pending.size());
    s.rows.clear();
    s.tokens.clear();
    for (int32_t prefix : pending) {
        s.rows.push_back(take_slot(d.slots, d.tree, prefix));
        s.tokens.push_back(d.tree.prefixes[static_cast<size_t>(prefix)].token);
    }
    // Pointers are taken only now: taking a slot may move the pool.
    s.states_in.clear();
    s.states_out.clear();
    for (size_t i = 0; i < pending.size(); ++i) {
        s.states_in.push_back(from[i] < 0 ? nullptr : slot_state(d.slots, from[i]));
        s.states_out.push_back(slot_state(d.slots, s.rows[i]));
    }
    const Tensor out = d.predicted.rows_slice(0, n);
    predictor_step(*d.model, s.tokens.data(), s.states_in.data(), s.states_out.data(), out, d.predictor,
                   &d.token_gates);
    for (int64_t i = 0; i < n; ++i)
        std::copy(out.row(i), out.row(i) + out.cols, slot_output(d.slots, s.rows[static_cast<size_t>(i)]));
    ++d.stats.predictor_calls;
    d.stats.predictor_rows += n;
}

Tensor joiner(Decoder& d, const float* frame, const std::vector<int32_t>& slots) {
    const int64_t n = static_cast<int64_t>(slots.size());
    const Tensor targets = d.targets.rows_slice(0, n);
    for (int64_t i = 0; i < n; ++i) {
        const float* out = slot_output(d.slots, slots[static_cast<size_t>(i)]);
        std::copy(out, out + targets.cols, targets.row(i));
    }
    const Tensor log_probs = d.log_probs.rows_slice(0, n);
    joiner_log_probs(*d.model, frame, targets, d.options.temperature, d.joint, log_probs);
    ++d.stats.joiner_calls;
    d.stats.joiner_rows += n;
    return log_probs;
}

void score_hypotheses(Decoder& d, const float* frame, int64_t t, const std::vector<SearchHypothesis>& a) {
    std::vector<int32_t>& rows = d.scratch.rows;
    rows.clear();
    for (const SearchHypothesis& h : a) {
        const int32_t slot = prefix_of(d.tree, h).slot;
        if (d.slots.info[static_cast<size_t>(slot)].scored_frame == t) ++d.stats.scores_reused;
        else rows.push_back(slot);
    }
    if (rows.empty()) return;
    const Tensor log_probs = joiner(d, frame, rows);
    for (size_t i = 0; i < rows.size(); ++i)
        set_slot_summary(d.slots, rows[i], log_probs.row(static_cast<int64_t>(i)), log_probs.cols, t);
}

}  // namespace ember
