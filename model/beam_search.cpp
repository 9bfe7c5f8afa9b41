#include "model/beam_search.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

#include "model/search_network.h"
#include "model/transcriber.h"

namespace ember {

namespace {

constexpr float kNegativeInfinity = -std::numeric_limits<float>::infinity();

// Extension rounds per frame that make_decoder reserves room for, torchaudio's
// default step_max_tokens: a search allowed more may grow the containers.
constexpr int64_t kReservedRounds = 100;

using Stage = SearchCursor::Stage;

const Prefix& prefix_of(const Decoder& d, const SearchHypothesis& h) { return prefix_of(d.tree, h); }
int32_t slot_of(const Decoder& d, const SearchHypothesis& h) { return prefix_of(d.tree, h).slot; }

// torch.logaddexp on float32.
float log_add_exp(float a, float b) {
    if (std::isinf(a) && a == b) return a;
    const float m = std::max(a, b);
    return m + std::log1p(std::exp(-std::fabs(a - b)));
}

// _gen_b_hypos (rnnt_decoder.py:144): every hypothesis of `a` followed by a blank joins `b`,
// merged by log-add-exp with an equal token sequence already there; `b` is
// kept sorted by ascending score, equal scores in insertion order (as a
// stable sort, done in place: std::stable_sort allocates).
void extend_with_blank(Decoder& d, std::vector<SearchHypothesis>& b, const std::vector<SearchHypothesis>& a) {
    const int64_t t = cursor_frame_index(d);
    for (const SearchHypothesis& h : a) {
        const float blank_score = h.score + frame_summary(d.slots, slot_of(d, h), t).blank;
        float score = blank_score;
        auto same = std::find_if(b.begin(), b.end(), [&](const SearchHypothesis& x) { return x.prefix == h.prefix; });
        if (same != b.end()) {
            score = log_add_exp(same->score, blank_score);
            b.erase(same);
        }
        b.push_back({h.prefix, h.emission, score});
    }
    for (size_t i = 1; i < b.size(); ++i) {
        const SearchHypothesis x = b[i];
        size_t j = i;
        for (; j > 0 && x.score < b[j - 1].score; --j) b[j] = b[j - 1];
        b[j] = x;
    }
}

// _default_hypo_sort_key (rnnt_decoder.py:51): score / (len(tokens) + 1) in
// Python floats, then held in a float32 tensor for topk.
float sort_key(const Decoder& d, const SearchHypothesis& h) {
    return static_cast<float>(static_cast<double>(h.score) / static_cast<double>(prefix_of(d, h).length + 1));
}

// Not in torchaudio: releases the slots of the hypotheses in `b` that can no
// longer be among the frame's `beam` best by key, having `beam` others of
// greater key (a key only grows, when _gen_b_hypos merges), except those of
// `a`. One merged later has been re-created by an extension, which holds or
// recomputes its slot. So at most 3 * beam slots are held, unless keys tie:
// b's beam best, a, and a's extensions.
void release_hopeless(Decoder& d) {
    SearchScratch& s = d.scratch;
    const size_t beam = static_cast<size_t>(d.options.beam);
    if (s.b.size() <= beam) return;
    s.keys.clear();
    for (const SearchHypothesis& h : s.b) s.keys.push_back(sort_key(d, h));
    if (std::any_of(s.keys.begin(), s.keys.end(), [](float k) { return k != k; })) return;
    std::nth_element(s.keys.begin(), s.keys.begin() + static_cast<std::ptrdiff_t>(beam - 1), s.keys.end(),
                     std::greater<float>());
    const float beam_th = s.keys[beam - 1];
    for (const SearchHypothesis& h : s.b)
        if (sort_key(d, h) < beam_th && slot_of(d, h) >= 0) release_slot(d.slots, slot_of(d, h));
    for (const SearchHypothesis& h : s.a) hold_slot(d.slots, slot_of(d, h));
}

// _gen_a_hypos (rnnt_decoder.py:171, with _compute_updated_scores and
// _gen_new_hypos) up to its predictor call: scratch.extended becomes the beam
// best non-blank extensions of `a` that beat the beam-th best score in `b`;
// those whose sequence has no predictor output yet are left in
// scratch.pending (from their parents' slots in scratch.from).
void rank_extensions(Decoder& d) {
    SearchScratch& s = d.scratch;
    const int64_t beam = d.options.beam, n = static_cast<int64_t>(s.a.size());
    const int64_t t = cursor_frame_index(d);
    const size_t b_size = s.b.size();
    const float b_nbest_score =
        static_cast<int64_t>(b_size) < beam ? kNegativeInfinity : s.b[b_size - static_cast<size_t>(beam)].score;
    s.scores.clear();
    s.summaries.clear();
    for (const SearchHypothesis& h : s.a) {
        s.scores.push_back(h.score);
        s.summaries.push_back(slot_summary(d.slots, slot_of(d, h), t));
    }
    s.ranked.clear();
    if (!rank_summaries(s.scores.data(), s.summaries.data(), n, beam, b_nbest_score, s.rank, s.ranked)) {
        s.rows.clear();
        for (const SearchHypothesis& h : s.a) s.rows.push_back(slot_of(d, h));
        rank_rows(s.scores.data(), joiner(d, cursor_frame(d), s.rows), beam, b_nbest_score, s.rank, s.ranked);
        ++d.stats.full_rankings;
    }

    s.extended.clear();
    s.pending.clear();
    s.from.clear();
    for (const Extension& e : s.ranked) {
        const SearchHypothesis& base = s.a[static_cast<size_t>(e.hypothesis)];
        const int32_t prefix = child_prefix(d.tree, base.prefix, e.token);
        const int32_t slot = d.tree.prefixes[static_cast<size_t>(prefix)].slot;
        if (slot >= 0) {
            hold_slot(d.slots, slot);
            ++d.stats.predictions_reused;
        } else {
            s.pending.push_back(prefix);
            s.from.push_back(slot_of(d, base));
        }
        s.extended.push_back({prefix, add_emission(d.tree, base.emission, t), e.score});
    }
}

// The end of a frame in _search (rnnt_decoder.py:266): `b` becomes its `beam`
// best by key, as topk orders them.
void keep_top_by_key(Decoder& d) {
    SearchScratch& s = d.scratch;
    const size_t count = std::min(static_cast<size_t>(d.options.beam), s.b.size());
    s.keys.clear();
    for (const SearchHypothesis& h : s.b) s.keys.push_back(sort_key(d, h));
    s.order.resize(s.b.size());
    std::iota(s.order.begin(), s.order.end(), 0);
    auto greater_key = [&](int64_t x, int64_t y) {
        return s.keys[static_cast<size_t>(x)] > s.keys[static_cast<size_t>(y)];
    };
    std::partial_sort(s.order.begin(), s.order.begin() + static_cast<std::ptrdiff_t>(count), s.order.end(),
                      greater_key);
    s.extended.clear();
    for (size_t i = 0; i < count; ++i) s.extended.push_back(s.b[static_cast<size_t>(s.order[i])]);
    s.b.assign(s.extended.begin(), s.extended.end());
}

// The search's hypotheses written out with their tokens and frames, in
// decoder.hypotheses, whose elements (and their vectors' storage) are reused.
void write_hypotheses(Decoder& d, const std::vector<SearchHypothesis>& b) {
    std::vector<Hypothesis>& out = d.hypotheses;
    while (out.size() > b.size()) {
        d.spare.push_back(std::move(out.back()));
        out.pop_back();
    }
    while (out.size() < b.size()) {
        if (d.spare.empty()) {
            out.emplace_back();
        } else {
            out.push_back(std::move(d.spare.back()));
            d.spare.pop_back();
        }
    }
    for (size_t i = 0; i < b.size(); ++i) {
        Hypothesis& h = out[i];
        const size_t length = static_cast<size_t>(prefix_of(d, b[i]).length);
        h.tokens.resize(length);
        h.frames.resize(length);
        for (int32_t p = b[i].prefix, e = b[i].emission, k = static_cast<int32_t>(length) - 1; k >= 0; --k) {
            const Prefix& prefix = d.tree.prefixes[static_cast<size_t>(p)];
            const Emission& emission = d.tree.emissions[static_cast<size_t>(e)];
            h.tokens[static_cast<size_t>(k)] = prefix.token;
            h.frames[static_cast<size_t>(k)] = emission.frame;
            p = prefix.parent;
            e = emission.parent;
        }
        h.score = b[i].score;
        h.slot = slot_of(d, b[i]);
    }
}

// Reserves, without touching it, the most room a streaming chunk's search can
// need with up to kReservedRounds extension rounds per frame (release_hopeless
// bounding the slots).
void reserve_for_streaming(Decoder& d) {
    const EmformerRnntConfig& c = d.model->config();
    const int64_t beam = d.options.beam, keep = d.slots.keep;
    const int64_t rounds = std::min(kReservedRounds, d.options.step_max_tokens);
    const size_t chunk_frames = static_cast<size_t>(chunk_output_rows(c));
    const size_t sequences = 1 + chunk_frames * static_cast<size_t>(beam * rounds);
    const size_t b_size = static_cast<size_t>(beam * (rounds + 1)), row_size = static_cast<size_t>(beam);
    d.tree.prefixes.reserve(sequences);
    d.tree.emissions.reserve(sequences);
    SearchScratch& s = d.scratch;
    for (auto* v : {&s.a, &s.extended}) v->reserve(row_size);
    for (auto* v : {&s.rows, &s.pending, &s.from}) v->reserve(row_size);
    s.b.reserve(b_size);
    s.ranked.reserve(row_size);
    s.rank.candidates.reserve(row_size * static_cast<size_t>(keep));
    s.rank.scores.reserve(row_size * static_cast<size_t>(c.num_symbols - 1));
    s.rank.order.reserve(row_size * static_cast<size_t>(c.num_symbols - 1));
    s.scores.reserve(row_size);
    s.summaries.reserve(row_size);
    s.keys.reserve(b_size);
    s.order.reserve(b_size);
    d.hypotheses.reserve(row_size);
    d.spare.resize(row_size);
    for (Hypothesis& h : d.spare) {
        h.tokens.reserve(1 + chunk_frames * static_cast<size_t>(rounds));
        h.frames.reserve(h.tokens.capacity());
    }
}

// The search as a sequence of steps between network calls, so that the
// searches of several decoders can share each call (run_searches). The
// frame loop of _search (rnnt_decoder.py:241):
//
//     for each frame:                       begin_frame
//         a = b, b = []
//         while a:
//             score a (joiner)              stage scoring: score_hypotheses
//             b += a's blank extensions     after_scoring
//             stop at step_max_tokens       (end_frame)
//             a = a's best extensions       rank_extensions
//               (predictor)                 stage extension_prediction: predict_pending
//                                           after_prediction
//         b = b's beam best by key          end_frame
//
// Frames are numbered on from d.frames_searched; at the end scratch.b holds
// the result (for continue_search) and decoder.hypotheses its copy.

void end_frame(Decoder& d);

// The frame at the cursor begins, or the search ends after its last frame.
void begin_frame(Decoder& d) {
    SearchScratch& s = d.scratch;
    SearchCursor& c = d.cursor;
    if (c.row == c.encoder_out.rows) {
        d.frames_searched += c.encoder_out.rows;
        write_hypotheses(d, s.b);
        c.stage = Stage::idle;
        return;
    }
    s.a.assign(s.b.begin(), s.b.end());
    s.b.clear();
    c.symbols = 0;
    c.stage = Stage::scoring;
    if (s.a.empty()) end_frame(d);
}

void end_frame(Decoder& d) {
    keep_top_by_key(d);
    release_slots_except(d.slots, d.tree, d.scratch.b);
    ++d.cursor.row;
    begin_frame(d);
}

void after_scoring(Decoder& d) {
    extend_with_blank(d, d.scratch.b, d.scratch.a);
    if (d.cursor.symbols == d.options.step_max_tokens) return end_frame(d);
    release_hopeless(d);
    rank_extensions(d);
    d.cursor.stage = Stage::extension_prediction;
}

void after_prediction(Decoder& d) {
    SearchScratch& s = d.scratch;
    if (d.cursor.stage == Stage::initial_prediction) {
        // _search (rnnt_decoder.py:230): the frames start from the one hypothesis.
        s.b.assign(1, SearchHypothesis{0, 0, 0.0f});
        release_slots_except(d.slots, d.tree, s.b);
        d.frames_searched = 0;
        return begin_frame(d);
    }
    s.a.assign(s.extended.begin(), s.extended.end());
    if (s.a.empty()) return end_frame(d);
    ++d.cursor.symbols;
    d.cursor.stage = Stage::scoring;
}

// Every begun search to its end, in rounds of one predictor call and one
// joiner call shared by all the searches waiting for it.
void run_searches(SearchNetworks& networks, const ChunkSearch* searches, int64_t count) {
    for (;;) {
        predict_pending(networks, searches, count);
        bool searching = false;
        for (int64_t i = 0; i < count; ++i) {
            Decoder& d = *searches[i].decoder;
            if (awaits_prediction(d)) after_prediction(d);
            searching = searching || d.cursor.stage != Stage::idle;
        }
        if (!searching) return;
        score_hypotheses(networks, searches, count);
        for (int64_t i = 0; i < count; ++i)
            if (searches[i].decoder->cursor.stage == Stage::scoring) after_scoring(*searches[i].decoder);
    }
}

void check_frames(const Decoder& d, const Tensor& encoder_out, const char* caller) {
    EMBER_CHECK(encoder_out.cols == d.model->config().encoding_dim, caller, ": encoder frames have ", encoder_out.cols,
                " values, the model's encoding_dim is ", d.model->config().encoding_dim);
}

// _init_b_hypos (rnnt_decoder.py:112): the search starts from the sequence of
// the single seed token (the blank without a seed), through the predictor
// from the seed's state (-1: the zero state). Every other slot is released
// and the prefix tree of the previous search forgotten. With carry_predictor
// the sequence takes over the seed's slot, whose output and state are
// already those after its token.
void begin_search(Decoder& d, const Tensor& encoder_out, const Hypothesis* seed) {
    check_frames(d, encoder_out, "search");
    EMBER_CHECK(!seed || !seed->tokens.empty(), "search: the seed hypothesis has no tokens");
    const int64_t seed_slot = seed ? seed->slot : -1;
    EMBER_CHECK(seed_slot >= -1 && seed_slot < static_cast<int64_t>(d.slots.info.size()), "search: the seed's slot ",
                seed_slot, " is not one of the decoder's ", d.slots.info.size(), " slots");
    const int64_t token = seed ? seed->tokens.back() : d.model->metadata.blank;
    unlink_slots(d.slots, static_cast<int32_t>(seed_slot));
    reset_tree(d.tree, token);
    d.cursor.encoder_out = encoder_out;
    d.cursor.row = 0;
    d.cursor.stage = Stage::initial_prediction;
    SearchScratch& s = d.scratch;
    s.pending.clear();
    s.from.clear();
    if (d.options.carry_predictor && seed_slot >= 0) {
        d.slots.info[static_cast<size_t>(seed_slot)].prefix = 0;  // unlink_slots left it unscored
        d.tree.prefixes[0].slot = static_cast<int32_t>(seed_slot);
        return;
    }
    s.pending.push_back(0);
    s.from.push_back(static_cast<int32_t>(seed_slot));
}

void begin_continued_search(Decoder& d, const Tensor& encoder_out) {
    check_frames(d, encoder_out, "continue_search");
    EMBER_CHECK(!d.tree.prefixes.empty(), "continue_search: the decoder has no search to continue");
    compact_tree(d.tree, d.slots, d.scratch.b, d.scratch.renumbered);
    d.cursor.encoder_out = encoder_out;
    d.cursor.row = 0;
    begin_frame(d);
}

void begin_stream_chunk(Decoder& d, const Tensor& encoder_out, bool first_chunk) {
    if (first_chunk) return begin_search(d, encoder_out, nullptr);
    if (d.options.carry_beam) return begin_continued_search(d, encoder_out);
    EMBER_CHECK(!d.hypotheses.empty(), "search_stream_chunk: the decoder has no hypothesis to seed the chunk with");
    // The seed's token and slot are read before the search replaces it.
    begin_search(d, encoder_out, &d.hypotheses.front());
}

const std::vector<Hypothesis>& run_alone(Decoder& d) {
    const ChunkSearch one{&d, d.cursor.encoder_out, false};
    run_searches(d.networks, &one, 1);
    return d.hypotheses;
}

}  // namespace

void check_search_options(const ModelMetadata& metadata, const SearchOptions& options) {
    const int64_t num_symbols = metadata.config.num_symbols;
    if (metadata.blank != num_symbols - 1)
        fail("the model's blank is token ", metadata.blank, ", but torchaudio's RNNTBeamSearch always treats the last "
             "joiner output (", num_symbols - 1, ") as blank; ember requires blank == num_symbols - 1");
    if (num_symbols < 2) fail("the model has no non-blank token to emit (num_symbols = ", num_symbols, ")");
    if (options.beam < 1 || options.beam > num_symbols - 1)
        fail("beam must be between 1 and num_symbols - 1 = ", num_symbols - 1, ", got ", options.beam);
    if (!(options.temperature > 0.0f) || !std::isfinite(options.temperature))
        fail("temperature must be a positive number, got ", options.temperature);
    if (options.step_max_tokens < 0) fail("step_max_tokens must not be negative, got ", options.step_max_tokens);
    if (options.score_frames < 0) fail("score_frames must not be negative, got ", options.score_frames);
}

int64_t frames_scored_per_call(const EmformerRnntConfig& c, const SearchOptions& options) {
    if (options.score_frames > 0) return options.score_frames;
    // A joiner whose weights stay in cache costs its arithmetic: scoring ahead
    // would only add rows. A larger one costs the reading of its weights, about
    // the same for 1 row as for 10 (the base model's 16.8 MB on AVX-512,
    // bench/bench_gemm.cpp: 1.1 and 1.3 ms; 16 rows 1.6 ms, 20 rows 2.1 ms),
    // so a call takes up to kJoinerRows rows. Measured on the base model (ember_search_bench,
    // Xeon): beam 1 scoring 4 frames, a 30 s search 0.56 -> 0.20 s, a streaming
    // chunk's 4.3 -> 2.8 ms; beam 4, 4 frames: 0.81 -> 0.59 s; beam 10 scoring
    // 2 frames made streaming chunks 5-7% slower (their extensions' rows
    // doubled), the whole input 7% faster: beam 10 scores 1.
    constexpr int64_t kCachedJoinerBytes = 4 << 20, kJoinerRows = 16, kMostFrames = 4;
    const int64_t joiner_bytes = c.encoding_dim * c.num_symbols * static_cast<int64_t>(sizeof(float));
    if (joiner_bytes <= kCachedJoinerBytes) return 1;
    return std::clamp<int64_t>(kJoinerRows / options.beam, 1, kMostFrames);
}

Decoder make_decoder(const Model& model, const SearchOptions& options) {
    check_search_options(model.metadata, options);
    const EmformerRnntConfig& c = model.config();
    const int64_t beam = options.beam, keep = std::min(beam + 1, c.num_symbols - 1);
    Decoder d;
    d.model = &model;
    d.options = options;
    const int64_t frames_scored = frames_scored_per_call(c, options);
    d.networks = make_search_networks(c, beam * frames_scored);
    d.slots = make_slot_pool(c.encoding_dim, predictor_state_floats(c), keep, frames_scored, 3 * beam + 2);

    reserve_for_streaming(d);
    return d;
}

const std::vector<Hypothesis>& search(Decoder& d, const Tensor& encoder_out, const Hypothesis* seed) {
    begin_search(d, encoder_out, seed);
    return run_alone(d);
}

const std::vector<Hypothesis>& continue_search(Decoder& d, const Tensor& encoder_out) {
    begin_continued_search(d, encoder_out);
    return run_alone(d);
}

const std::vector<Hypothesis>& search_stream_chunk(Decoder& d, const Tensor& encoder_out, bool first_chunk) {
    begin_stream_chunk(d, encoder_out, first_chunk);
    return run_alone(d);
}

void search_stream_chunks(SearchNetworks& networks, const ChunkSearch* searches, int64_t count) {
    if (count == 0) return;
    const Model* model = searches[0].decoder->model;
    int64_t rows = 0;
    for (int64_t i = 0; i < count; ++i) {
        Decoder& d = *searches[i].decoder;
        EMBER_CHECK(d.model == model, "search_stream_chunks: search ", i, " runs another model");
        d.cursor.stage = Stage::idle;  // until begun: a failed begin leaves it out
        rows += search_call_rows(d);
    }
    reserve_rows(networks, model->config(), rows);
    for (int64_t i = 0; i < count; ++i)
        begin_stream_chunk(*searches[i].decoder, searches[i].encoder_out, searches[i].first_chunk);
    run_searches(networks, searches, count);
}

}  // namespace ember
