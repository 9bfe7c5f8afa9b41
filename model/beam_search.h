// RNN-T beam search exactly as torchaudio 0.13.1's RNNTBeamSearch
// (models/rnnt_decoder.py): `_search` over encoder frames, seeded for
// streaming as `infer` does. The same hypotheses, scores and order as
// torchaudio's, computed with less work: a token sequence's predictor output
// and state are computed once and its log-probabilities once per frame
// (torchaudio recomputes both whenever an extension re-creates a sequence it
// already holds), the predictor's first input gates are kept per token, and
// a round's extensions are ranked from each hypothesis's few best
// log-probabilities instead of all of them.
#pragma once

#include <vector>

#include "engine/arena.h"
#include "model/model.h"
#include "model/predictor.h"
#include "model/search_rank.h"
#include "model/search_state.h"

namespace ember {

struct SearchOptions {
    int64_t beam = 10;
    float temperature = 1.0f;
    int64_t step_max_tokens = 100;  // tokens emitted per encoder frame at most
    // A seeded search (streaming: every chunk after the first) starts, when
    // true, from the seed's own predictor output and state. When false (the
    // default) it feeds the seed's last token through the predictor again,
    // from the state that has already consumed it, as torchaudio's
    // _init_b_hypos does: transcripts then equal torchaudio's, but the model
    // hears its last token twice at every chunk boundary, which costs
    // accuracy (models/MODEL_CARD.md).
    bool carry_predictor = false;
    // Streaming (the Recognizer): every chunk after the first continues the
    // search from the whole beam of the chunk before, each hypothesis with
    // its own predictor state (continue_search), instead of restarting from
    // the best one. Not torchaudio's infer: the result is what _search gives
    // over all the chunks' encoder frames at once, the non-streaming search
    // of the streaming encoder's output; the partial text is the best
    // hypothesis's so far, which later chunks may revise.
    bool carry_beam = false;
    // Frames each joiner call scores a hypothesis at: the one its search is
    // at and up to score_frames - 1 after it (within the encoder frames of
    // the search call), kept for when the hypothesis reaches them. A call
    // then reads the joiner's weights once for several frames; the scores are
    // the same bits (each row of a product is computed alike whatever the
    // rows around it), and hypotheses dropped before a frame waste its rows.
    // 0: chosen from the model and beam (frames_scored_per_call).
    int64_t score_frames = 0;
};

// Throws ember::Error when the model or options cannot be searched as
// torchaudio does (blank not the last symbol, beam larger than the
// non-blank vocabulary, temperature not positive, ...).
void check_search_options(const ModelMetadata& metadata, const SearchOptions& options);

// SearchOptions::score_frames as a search of `config` runs it.
int64_t frames_scored_per_call(const EmformerRnntConfig& config, const SearchOptions& options);

// torchaudio's Hypothesis without its tensors: the tokens (the first being
// the blank, or the previous chunk's last token when seeded), the float32
// score, and which predictor slot holds its predictor output and state.
struct Hypothesis {
    std::vector<int64_t> tokens;
    std::vector<int64_t> frames;  // encoder frame each token was emitted at (-1 for the first)
    float score = 0.0f;
    int64_t slot = -1;
};

// The work a decoder has done, summed over its searches (benchmarks, tests).
struct SearchStats {
    int64_t predictor_calls = 0, predictor_rows = 0;  // batched predictor steps, token sequences in them
    int64_t joiner_calls = 0, joiner_rows = 0;        // batched joiner calls, hypotheses in them
    int64_t predictions_reused = 0;  // extensions to a sequence whose predictor output was still held
    int64_t scores_reused = 0;       // hypotheses already scored at the frame (an extension re-created them)
    int64_t full_rankings = 0;       // rounds ranked on every score because of ties (rank_rows)
};

// Scratch of the search's network calls for up to max_rows hypotheses at
// once: a decoder's own (its beam) or one shared by the searches of several
// decoders advanced in lockstep (search_stream_chunks), whose joiner and
// predictor calls then take the hypotheses of all of them together.
struct SearchNetworks {
    int64_t max_rows = 0;
    Arena arena;
    PredictorScratch predictor;
    TokenGates token_gates;
    Tensor predicted;  // (max_rows, E): predictor outputs before they go to their slots
    Tensor targets;    // (max_rows, E): predictor outputs of the hypotheses being scored
    Tensor joint;      // (max_rows, E): joiner scratch
    Tensor log_probs;  // (max_rows, num_symbols)
    // A call's rows: predictor tokens and states, joiner frames and temperatures.
    std::vector<int64_t> tokens;
    std::vector<const float*> states_in;
    std::vector<float*> states_out;
    std::vector<const float*> frames;
    std::vector<float> temperatures;
};

SearchNetworks make_search_networks(const EmformerRnntConfig& config, int64_t max_rows);

// Where a decoder's search is between its network calls (beam_search.cpp):
// the frames of the current call and the round of the frame being searched.
struct SearchCursor {
    enum class Stage { idle, initial_prediction, scoring, extension_prediction };
    Stage stage = Stage::idle;
    Tensor encoder_out;   // the frames of the call
    int64_t row = 0;      // the frame being searched
    int64_t symbols = 0;  // tokens emitted at it so far
};

// Per-stream search state. Every container is kept from search to search and
// only grows; make_decoder reserves the most a streaming chunk's search can
// need (with step_max_tokens <= 100, unless sort keys tie), so that streaming
// searches never allocate.
struct Decoder {
    const Model* model = nullptr;
    SearchOptions options;
    SearchTree tree;
    SlotPool slots;
    SearchScratch scratch;
    SearchNetworks networks;  // for beam rows
    SearchCursor cursor;
    std::vector<Hypothesis> hypotheses;  // the latest search's result
    std::vector<Hypothesis> spare;       // hypotheses' storage not in the result
    int64_t frames_searched = 0;         // by the latest search and the continue_search calls after it
    SearchStats stats;
};

Decoder make_decoder(const Model& model, const SearchOptions& options);

// The most rows the decoder's search puts in one network call.
inline int64_t search_call_rows(const Decoder& d) { return d.options.beam * d.slots.frames_scored; }

// Searches encoder frames (T, E). seed == null starts from the blank with a
// zero predictor state (RNNTBeamSearch.forward and the first infer call);
// otherwise the search restarts from seed's last token and state, score 0,
// as infer does with the hypothesis it is given (with carry_predictor, from
// the seed's predictor output and state as they are; seed may be one of the
// decoder's own hypotheses). Returns up to `beam` hypotheses in torchaudio's
// order (best first by score / (tokens + 1)): decoder.hypotheses, whose
// contents and slots stay valid until the next search call.
const std::vector<Hypothesis>& search(Decoder& decoder, const Tensor& encoder_out, const Hypothesis* seed);

// The decoder's latest search carried on over more frames, from every
// hypothesis it returned, as if those frames had followed the others in
// one call: search(a) then continue_search(b) returns what search(a + b)
// does, bit for bit. Frames are numbered on from the first of that search
// (Hypothesis::frames). Sequences no hypothesis or predictor slot refers to
// any more are forgotten first: the decoder holds the beam's own token
// histories (which grow with the transcript: their storage grows
// geometrically, so a call allocates only when they outgrow it, not per
// chunk; tests/alloc) and one call's other sequences, however long the input. Throws ember::Error when
// there is no search to continue.
const std::vector<Hypothesis>& continue_search(Decoder& decoder, const Tensor& encoder_out);

// The search of one streaming chunk as decoder.options choose: the first
// chunk from the blank; a later one seeded with the best hypothesis of the
// chunk before (RNNTBeamSearch.infer; with carry_predictor, from its own
// predictor state) or, with carry_beam, continue_search from the whole beam.
const std::vector<Hypothesis>& search_stream_chunk(Decoder& decoder, const Tensor& encoder_out, bool first_chunk);

// search_stream_chunk for several decoders (of one model) in lockstep: each
// round one joiner call and one predictor call over the hypotheses of every
// decoder still searching, in `networks` (grown when their beams need more
// rows), so that the networks' weights are read once for all. Each decoder
// ends exactly as search_stream_chunk alone would leave it.
struct ChunkSearch {
    Decoder* decoder = nullptr;
    Tensor encoder_out;
    bool first_chunk = false;
};
void search_stream_chunks(SearchNetworks& networks, const ChunkSearch* searches, int64_t count);

}  // namespace ember
