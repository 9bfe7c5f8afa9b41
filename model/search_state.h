// What a beam search holds between its rounds and frames (model/beam_search.cpp):
// - every token sequence it has reached, as a prefix tree, so that equal
//   sequences are one node (torchaudio's hypothesis key is str(tokens));
// - the frame each hypothesis's tokens were emitted at (ember's, for
//   timestamps), which hypotheses with equal tokens need not share: merging
//   them, _gen_b_hypos keeps the newer one's;
// - predictor slots: the predictor output and LSTM state of a sequence, and
//   the summaries of its log-probabilities at the frames it was last scored at.
// Everything lives in vectors that are cleared, never shrunk.
#pragma once

#include <cstdint>
#include <vector>

#include "model/search_rank.h"

namespace ember {

// A token sequence: `token` appended to the sequence `parent` (-1: none).
struct Prefix {
    int64_t token = 0;
    int32_t parent = -1;
    int32_t first_child = -1;   // the sequences one token longer, linked by next_sibling
    int32_t next_sibling = -1;
    int32_t length = 1;         // tokens
    int32_t slot = -1;          // the predictor slot holding its output and state, -1: none
};

// How a hypothesis's last token was emitted, and (parent) the rest of it.
struct Emission {
    int64_t frame = -1;  // encoder frame; -1 for the first token
    int32_t parent = -1;
};

struct SearchTree {
    std::vector<Prefix> prefixes;
    std::vector<Emission> emissions;
};

// Forgets every sequence: the tree then holds only the single-token sequence
// `token` (prefix 0), emitted before the first frame (emission 0).
void reset_tree(SearchTree& tree, int64_t token);
// The sequence `parent` followed by `token`, added if new.
int32_t child_prefix(SearchTree& tree, int32_t parent, int64_t token);
int32_t add_emission(SearchTree& tree, int32_t parent, int64_t frame);

// torchaudio's Hypothesis as the search holds it.
struct SearchHypothesis {
    int32_t prefix = -1;    // its tokens
    int32_t emission = -1;  // the frames they were emitted at
    float score = 0.0f;
};

inline const Prefix& prefix_of(const SearchTree& tree, const SearchHypothesis& h) {
    return tree.prefixes[static_cast<size_t>(h.prefix)];
}

// Predictor slots. A slot is held while a hypothesis of the search may still
// be extended or scored from it. A released slot keeps its contents, and its
// sequence keeps the link to it, until the slot is taken again: the one
// released longest ago goes first.
struct SlotInfo {
    int32_t prefix = -1;      // the sequence whose output and state it holds; -1: none
    bool held = false;
    int64_t released_at = 0;  // ordinal of its latest release
};

// The summary of a slot's log-probabilities at one frame: a RowSummary whose
// arrays are the slot's rows of top_values and top_tokens for that frame.
struct FrameSummary {
    int64_t frame = -1;  // -1: none
    float blank = 0.0f;
    bool nan = false;
    int64_t count = 0;
};

// A slot keeps summaries at up to frames_scored frames (the joiner scores a
// sequence at several frames in one call: SearchOptions::score_frames), frame
// f's in place f % frames_scored.
struct SlotPool {
    int64_t output_floats = 0;  // encoding_dim
    int64_t state_floats = 0;   // predictor_state_floats
    int64_t keep = 0;           // log-probabilities summarised per slot and frame
    int64_t frames_scored = 1;
    int64_t releases = 0;
    std::vector<SlotInfo> info;
    std::vector<float> outputs;            // (slots, output_floats)
    std::vector<float> states;             // (slots, state_floats)
    std::vector<FrameSummary> summaries;   // (slots, frames_scored)
    std::vector<float> top_values;         // (slots, frames_scored, keep)
    std::vector<int32_t> top_tokens;       // (slots, frames_scored, keep)
};

SlotPool make_slot_pool(int64_t output_floats, int64_t state_floats, int64_t keep, int64_t frames_scored,
                        int64_t reserve_slots);
inline float* slot_output(SlotPool& p, int32_t slot) { return p.outputs.data() + slot * p.output_floats; }
inline float* slot_state(SlotPool& p, int32_t slot) { return p.states.data() + slot * p.state_floats; }
// Where a slot's summary at `frame` lives: in summaries, and (times keep) in top_values and top_tokens.
inline size_t summary_index(const SlotPool& p, int32_t slot, int64_t frame) {
    return static_cast<size_t>(slot * p.frames_scored + frame % p.frames_scored);
}
inline FrameSummary& frame_summary(SlotPool& p, int32_t slot, int64_t frame) {
    return p.summaries[summary_index(p, slot, frame)];
}
inline const FrameSummary& frame_summary(const SlotPool& p, int32_t slot, int64_t frame) {
    return p.summaries[summary_index(p, slot, frame)];
}
inline bool scored_at(const SlotPool& p, int32_t slot, int64_t frame) {
    return frame_summary(p, slot, frame).frame == frame;
}
// The slot's summary at `frame`, which it must have (scored_at).
RowSummary slot_summary(const SlotPool& p, int32_t slot, int64_t frame);
// Summarises a log-probability row (num_symbols) as the slot's at `frame`.
void set_slot_summary(SlotPool& p, int32_t slot, const float* row, int64_t num_symbols, int64_t frame);

// Gives `prefix` a held slot, the one released longest ago (unlinking its old
// sequence) or a new one.
int32_t take_slot(SlotPool& p, SearchTree& tree, int32_t prefix);
// Holds the slot a sequence is still linked to.
void hold_slot(SlotPool& p, int32_t slot);
void release_slot(SlotPool& p, int32_t slot);
// Releases every slot, then holds those of `kept` again.
void release_slots_except(SlotPool& p, const SearchTree& tree, const std::vector<SearchHypothesis>& kept);
// For a new tree: unlinks every slot from its sequence and releases it,
// except `held` (-1: none), which stays held.
void unlink_slots(SlotPool& p, int32_t held);

// Forgets every sequence that neither a hypothesis of `kept` nor a slot
// holds (nor one of their longer sequences), and every emission `kept` does
// not lead to; the rest are renumbered in their order (a parent still before
// its children) and `kept` and the slots follow. `renumbered` is scratch.
void compact_tree(SearchTree& tree, SlotPool& slots, std::vector<SearchHypothesis>& kept,
                  std::vector<int32_t>& renumbered);

// The search's per-round lists and scratch; vectors only grow.
struct SearchScratch {
    std::vector<SearchHypothesis> a, b, extended;  // a_hypos, b_hypos, the next a_hypos
    std::vector<Extension> ranked;
    RankScratch rank;
    std::vector<float> scores;           // of a
    std::vector<RowSummary> summaries;   // of a
    std::vector<int32_t> pending, from;  // sequences awaiting the predictor, their parents' slots
    std::vector<int32_t> rows;           // the slots of a joiner or predictor call
    std::vector<float> keys;             // top_by_key
    std::vector<int64_t> order;
    std::vector<int32_t> renumbered;     // compact_tree
};

}  // namespace ember
