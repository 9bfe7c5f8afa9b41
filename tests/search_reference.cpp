#include "tests/search_reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace ember::test {

namespace {

constexpr float kNegativeInfinity = -std::numeric_limits<float>::infinity();

int64_t encoding_dim(const ReferenceDecoder& d) { return d.model->config().encoding_dim; }
int64_t state_floats(const ReferenceDecoder& d) { return predictor_state_floats(d.model->config()); }
float* slot_output(ReferenceDecoder& d, int64_t slot) { return d.slot_outputs.data() + slot * encoding_dim(d); }
float* slot_state(ReferenceDecoder& d, int64_t slot) { return d.slot_states.data() + slot * state_floats(d); }

int64_t allocate_slot(ReferenceDecoder& d) {
    if (d.free_slots.empty()) {
        const int64_t slot = static_cast<int64_t>(d.slot_live.size());
        d.slot_outputs.resize(d.slot_outputs.size() + static_cast<size_t>(encoding_dim(d)));
        d.slot_states.resize(d.slot_states.size() + static_cast<size_t>(state_floats(d)));
        d.slot_live.push_back(1);
        return slot;
    }
    const int64_t slot = d.free_slots.back();
    d.free_slots.pop_back();
    d.slot_live[static_cast<size_t>(slot)] = 1;
    return slot;
}

// Frees every slot that no hypothesis in `keep` refers to.
void collect_slots(ReferenceDecoder& d, const std::vector<Hypothesis>& keep) {
    std::vector<char> referenced(d.slot_live.size(), 0);
    for (const Hypothesis& h : keep) referenced[static_cast<size_t>(h.slot)] = 1;
    for (size_t slot = 0; slot < d.slot_live.size(); ++slot) {
        if (d.slot_live[slot] && !referenced[slot]) {
            d.slot_live[slot] = 0;
            d.free_slots.push_back(static_cast<int64_t>(slot));
        }
    }
}

// One batched predictor step (_gen_new_hypos / _init_b_hypos): token i from
// the state in slot from_slots[i] (-1: the zero state) into a new slot.
std::vector<int64_t> predict(ReferenceDecoder& d, const std::vector<int64_t>& tokens,
                             const std::vector<int64_t>& from_slots) {
    std::vector<int64_t> slots;
    for (size_t i = 0; i < tokens.size(); ++i) slots.push_back(allocate_slot(d));
    // Pointers are taken only now: allocating may move the pool.
    const int64_t n = static_cast<int64_t>(tokens.size()), E = encoding_dim(d);
    std::vector<const float*> states_in(tokens.size());
    std::vector<float*> states_out(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i) {
        states_in[i] = from_slots[i] < 0 ? nullptr : slot_state(d, from_slots[i]);
        states_out[i] = slot_state(d, slots[i]);
    }
    const Tensor out = d.predicted.rows_slice(0, n);
    predictor_step(*d.model, tokens.data(), states_in.data(), states_out.data(), out, d.predictor);
    for (int64_t i = 0; i < n; ++i)
        std::copy(out.row(i), out.row(i) + E, slot_output(d, slots[static_cast<size_t>(i)]));
    return slots;
}

// _gen_next_token_probs: log-probabilities (n, V) of the next token for every
// hypothesis in `a` at one encoder frame, the joiner run once for all of them.
Tensor next_token_log_probs(ReferenceDecoder& d, const float* frame, const std::vector<Hypothesis>& a) {
    const int64_t n = static_cast<int64_t>(a.size()), E = encoding_dim(d);
    const Tensor targets = d.targets.rows_slice(0, n);
    for (int64_t i = 0; i < n; ++i) {
        const float* out = slot_output(d, a[static_cast<size_t>(i)].slot);
        std::copy(out, out + E, targets.row(i));
    }
    const Tensor log_probs = d.log_probs.rows_slice(0, n);
    const std::vector<const float*> frames(static_cast<size_t>(n), frame);
    const std::vector<float> temperatures(static_cast<size_t>(n), d.options.temperature);
    joiner_log_probs(*d.model, frames.data(), temperatures.data(), targets, d.joint, log_probs);
    return log_probs;
}

// torch.logaddexp on float32.
float log_add_exp(float a, float b) {
    if (std::isinf(a) && a == b) return a;
    const float m = std::max(a, b);
    return m + std::log1p(std::exp(-std::fabs(a - b)));
}

// _default_hypo_sort_key: score / (len(tokens) + 1) in Python floats, then
// held in a float32 tensor for topk.
float sort_key(const Hypothesis& h) {
    return static_cast<float>(static_cast<double>(h.score) / static_cast<double>(h.tokens.size() + 1));
}

// The first `count` hypotheses by descending key, as topk orders them.
std::vector<Hypothesis> top_by_key(std::vector<Hypothesis> hypotheses, int64_t count) {
    count = std::min<int64_t>(count, static_cast<int64_t>(hypotheses.size()));
    std::vector<float> keys;
    for (const Hypothesis& h : hypotheses) keys.push_back(sort_key(h));
    std::vector<size_t> order(hypotheses.size());
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + count, order.end(),
                      [&](size_t x, size_t y) { return keys[x] > keys[y]; });
    std::vector<Hypothesis> top;
    for (int64_t i = 0; i < count; ++i) top.push_back(std::move(hypotheses[order[static_cast<size_t>(i)]]));
    return top;
}

// _gen_b_hypos: every hypothesis of `a` followed by a blank joins `b`,
// merged by log-add-exp with an equal token sequence already there; `b`
// is kept sorted by ascending score.
void extend_with_blank(std::vector<Hypothesis>& b, const std::vector<Hypothesis>& a, const Tensor& log_probs) {
    const int64_t blank_column = log_probs.cols - 1;  // torchaudio takes the last output as blank
    for (size_t i = 0; i < a.size(); ++i) {
        const float blank_score = a[i].score + log_probs.row(static_cast<int64_t>(i))[blank_column];
        float score = blank_score;
        auto same = std::find_if(b.begin(), b.end(), [&](const Hypothesis& h) { return h.tokens == a[i].tokens; });
        if (same != b.end()) {
            score = log_add_exp(same->score, blank_score);
            b.erase(same);
        }
        b.push_back({a[i].tokens, a[i].frames, score, a[i].slot});
    }
    std::stable_sort(b.begin(), b.end(), [](const Hypothesis& x, const Hypothesis& y) { return x.score < y.score; });
}

// _gen_a_hypos: the beam best non-blank extensions of `a` that beat the
// beam-th best score in `b`, each run through the predictor.
std::vector<Hypothesis> extend_with_token(ReferenceDecoder& d, const std::vector<Hypothesis>& a,
                                          const std::vector<Hypothesis>& b,
                                          const Tensor& log_probs, int64_t frame) {
    const int64_t beam = d.options.beam, tokens = log_probs.cols - 1;
    const int64_t count = static_cast<int64_t>(a.size()) * tokens;
    std::vector<float> scores(static_cast<size_t>(count));
    for (size_t i = 0; i < a.size(); ++i) {
        const float* row = log_probs.row(static_cast<int64_t>(i));
        for (int64_t j = 0; j < tokens; ++j) scores[i * tokens + j] = a[i].score + row[j];
    }
    const int64_t best = std::min(beam, count);
    std::vector<int64_t> order(static_cast<size_t>(count));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + best, order.end(),
                      [&](int64_t x, int64_t y) { return scores[x] > scores[y]; });

    const float b_nbest_score =
        static_cast<int64_t>(b.size()) < beam ? kNegativeInfinity : b[b.size() - static_cast<size_t>(beam)].score;
    std::vector<int64_t> new_tokens, from_slots;
    std::vector<Hypothesis> extended;
    for (int64_t k = 0; k < best; ++k) {
        const int64_t index = order[static_cast<size_t>(k)];
        if (!(scores[index] > b_nbest_score)) continue;
        const Hypothesis& base = a[static_cast<size_t>(index / tokens)];
        Hypothesis h{base.tokens, base.frames, scores[index], -1};
        h.tokens.push_back(index % tokens);
        h.frames.push_back(frame);
        new_tokens.push_back(index % tokens);
        from_slots.push_back(base.slot);
        extended.push_back(std::move(h));
    }
    if (extended.empty()) return extended;
    const std::vector<int64_t> slots = predict(d, new_tokens, from_slots);
    for (size_t i = 0; i < extended.size(); ++i) extended[i].slot = slots[i];
    return extended;
}

// _init_b_hypos.
Hypothesis initial_hypothesis(ReferenceDecoder& d, const Hypothesis* seed) {
    const int64_t token = seed ? seed->tokens.back() : d.model->metadata.blank;
    const int64_t from = seed ? seed->slot : -1;
    return {{token}, {-1}, 0.0f, predict(d, {token}, {from})[0]};
}

}  // namespace

ReferenceDecoder make_reference_decoder(const Model& model, const SearchOptions& options) {
    check_search_options(model.metadata, options);
    const EmformerRnntConfig& c = model.config();
    ReferenceDecoder d;
    d.model = &model;
    d.options = options;
    auto carve = [&](Arena& arena) {
        d.predictor = allocate_predictor_scratch(arena, c, options.beam);
        d.predicted = arena.matrix(options.beam, c.encoding_dim);
        d.targets = arena.matrix(options.beam, c.encoding_dim);
        d.joint = arena.matrix(options.beam, c.encoding_dim);
        d.log_probs = arena.matrix(options.beam, c.num_symbols);
    };
    Arena sizing = Arena::counting();
    carve(sizing);
    d.arena = Arena(sizing.used());
    carve(d.arena);
    return d;
}

std::vector<Hypothesis> reference_search(ReferenceDecoder& d, const Tensor& encoder_out, const Hypothesis* seed) {
    EMBER_CHECK(encoder_out.cols == encoding_dim(d), "search: encoder frames have ", encoder_out.cols,
                " values, the model's encoding_dim is ", encoding_dim(d));
    std::vector<Hypothesis> b{initial_hypothesis(d, seed)};
    collect_slots(d, b);
    for (int64_t t = 0; t < encoder_out.rows; ++t) {
        const float* frame = encoder_out.row(t);
        std::vector<Hypothesis> a = std::move(b);
        b.clear();
        for (int64_t symbols = 0; !a.empty();) {
            const Tensor log_probs = next_token_log_probs(d, frame, a);
            extend_with_blank(b, a, log_probs);
            if (symbols == d.options.step_max_tokens) break;
            a = extend_with_token(d, a, b, log_probs, t);
            if (!a.empty()) ++symbols;
        }
        b = top_by_key(std::move(b), d.options.beam);
        collect_slots(d, b);
    }
    return b;
}

}  // namespace ember::test
