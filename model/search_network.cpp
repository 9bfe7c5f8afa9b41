#include "model/search_network.h"

#include <algorithm>

namespace ember {

namespace {

// Tokens whose first input gates a decoder keeps (TokenGates): on the
// base-sized benchmark of bench/README.md at beam 10, 64 let 76% of the
// predictor steps skip that product (every token kept: 86%).
constexpr int64_t kKeptTokenGates = 64;

using Stage = SearchCursor::Stage;

// Slot `slot`'s predictor output as joiner row `row`, against `frame`.
void gather_joiner_row(SearchNetworks& net, Decoder& d, int32_t slot, const float* frame, int64_t row) {
    const float* out = slot_output(d.slots, slot);
    std::copy(out, out + net.targets.cols, net.targets.row(row));
    net.frames.push_back(frame);
    net.temperatures.push_back(d.options.temperature);
}

// The joiner over the n rows gathered.
Tensor joiner_rows(SearchNetworks& net, const Model& model, int64_t n) {
    const Tensor log_probs = net.log_probs.rows_slice(0, n);
    joiner_log_probs(model, net.frames.data(), net.temperatures.data(), net.targets.rows_slice(0, n), net.joint,
                     log_probs);
    return log_probs;
}

// Frames a hypothesis scored now is scored at: the search's and those after
// it to the end of its block of frames_scored frames of the call. Blocks keep
// the beam in step: one call at a block's first frame scores all of it for
// the block (an extension made later in the block is scored for the rest of
// it), where scoring each hypothesis for the next frames_scored frames from
// wherever it was last scored would leave some due at every frame.
int64_t frames_scored_now(const Decoder& d) {
    const int64_t block = d.slots.frames_scored;
    return std::min(block - d.cursor.row % block, d.cursor.encoder_out.rows - d.cursor.row);
}

void check_rows(const SearchNetworks& net, int64_t n, const char* caller) {
    EMBER_CHECK(n <= net.max_rows, caller, ": ", n, " hypotheses but scratch for ", net.max_rows);
}

}  // namespace

SearchNetworks make_search_networks(const EmformerRnntConfig& c, int64_t max_rows) {
    SearchNetworks net;
    net.max_rows = max_rows;
    auto carve = [&](Arena& arena) {
        net.predictor = allocate_predictor_scratch(arena, c, max_rows);
        net.predicted = arena.matrix(max_rows, c.encoding_dim);
        net.targets = arena.matrix(max_rows, c.encoding_dim);
        net.joint = arena.matrix(max_rows, c.encoding_dim);
        net.log_probs = arena.matrix(max_rows, c.num_symbols);
    };
    Arena sizing = Arena::counting();
    carve(sizing);
    net.arena = Arena(sizing.used());
    carve(net.arena);
    net.token_gates = make_token_gates(c, kKeptTokenGates, max_rows);
    const size_t rows = static_cast<size_t>(max_rows);
    net.tokens.reserve(rows);
    net.states_in.reserve(rows);
    net.states_out.reserve(rows);
    net.frames.reserve(rows);
    net.temperatures.reserve(rows);
    return net;
}

void reserve_rows(SearchNetworks& net, const EmformerRnntConfig& c, int64_t rows) {
    if (rows > net.max_rows) net = make_search_networks(c, std::max(rows, 2 * net.max_rows));
}

void predict_pending(SearchNetworks& net, const ChunkSearch* searches, int64_t count) {
    net.tokens.clear();
    for (int64_t i = 0; i < count; ++i) {
        Decoder& d = *searches[i].decoder;
        d.scratch.rows.clear();
        if (!awaits_prediction(d)) continue;
        for (int32_t prefix : d.scratch.pending) {
            d.scratch.rows.push_back(take_slot(d.slots, d.tree, prefix));
            net.tokens.push_back(d.tree.prefixes[static_cast<size_t>(prefix)].token);
        }
    }
    const int64_t n = static_cast<int64_t>(net.tokens.size());
    if (n == 0) return;
    check_rows(net, n, "predict_pending");
    // Pointers are taken only now: taking a slot may move a pool.
    net.states_in.clear();
    net.states_out.clear();
    for (int64_t i = 0; i < count; ++i) {
        Decoder& d = *searches[i].decoder;
        const std::vector<int32_t>& from = d.scratch.from;
        for (size_t k = 0; k < d.scratch.rows.size(); ++k) {
            net.states_in.push_back(from[k] < 0 ? nullptr : slot_state(d.slots, from[k]));
            net.states_out.push_back(slot_state(d.slots, d.scratch.rows[k]));
        }
    }
    const Tensor out = net.predicted.rows_slice(0, n);
    predictor_step(*searches[0].decoder->model, net.tokens.data(), net.states_in.data(), net.states_out.data(), out,
                   net.predictor, &net.token_gates);
    int64_t row = 0;
    for (int64_t i = 0; i < count; ++i) {
        Decoder& d = *searches[i].decoder;
        if (d.scratch.rows.empty()) continue;
        for (int32_t slot : d.scratch.rows) {
            std::copy(out.row(row), out.row(row) + out.cols, slot_output(d.slots, slot));
            ++row;
        }
        ++d.stats.predictor_calls;
        d.stats.predictor_rows += static_cast<int64_t>(d.scratch.rows.size());
    }
}

void score_hypotheses(SearchNetworks& net, const ChunkSearch* searches, int64_t count) {
    net.frames.clear();
    net.temperatures.clear();
    int64_t n = 0;
    for (int64_t i = 0; i < count; ++i) {
        Decoder& d = *searches[i].decoder;
        std::vector<int32_t>& rows = d.scratch.rows;
        rows.clear();
        if (d.cursor.stage != Stage::scoring) continue;
        const int64_t t = cursor_frame_index(d);
        for (const SearchHypothesis& h : d.scratch.a) {
            const int32_t slot = prefix_of(d.tree, h).slot;
            if (scored_at(d.slots, slot, t)) ++d.stats.scores_reused;
            else rows.push_back(slot);
        }
        const int64_t frames = frames_scored_now(d);
        check_rows(net, n + static_cast<int64_t>(rows.size()) * frames, "score_hypotheses");
        for (int32_t slot : rows)
            for (int64_t f = 0; f < frames; ++f)
                gather_joiner_row(net, d, slot, d.cursor.encoder_out.row(d.cursor.row + f), n++);
        if (rows.empty()) continue;
        ++d.stats.joiner_calls;
        d.stats.joiner_rows += static_cast<int64_t>(rows.size()) * frames;
    }
    if (n == 0) return;
    const Tensor log_probs = joiner_rows(net, *searches[0].decoder->model, n);
    int64_t row = 0;
    for (int64_t i = 0; i < count; ++i) {
        Decoder& d = *searches[i].decoder;
        if (d.cursor.stage != Stage::scoring) continue;
        const int64_t t = cursor_frame_index(d), frames = frames_scored_now(d);
        for (int32_t slot : d.scratch.rows)
            for (int64_t f = 0; f < frames; ++f)
                set_slot_summary(d.slots, slot, log_probs.row(row++), log_probs.cols, t + f);
    }
}

Tensor joiner(Decoder& d, const float* frame, const std::vector<int32_t>& slots) {
    SearchNetworks& net = d.networks;
    const int64_t n = static_cast<int64_t>(slots.size());
    check_rows(net, n, "joiner");
    net.frames.clear();
    net.temperatures.clear();
    for (int64_t i = 0; i < n; ++i) gather_joiner_row(net, d, slots[static_cast<size_t>(i)], frame, i);
    ++d.stats.joiner_calls;
    d.stats.joiner_rows += n;
    return joiner_rows(net, *d.model, n);
}

}  // namespace ember
