#include "model/recognizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "model/tokenizer.h"

namespace ember {

namespace {

const Model& model_of(const Stream& s) { return *s.recognizer->model; }

// Seconds at the start of Emformer frame `frame` (each stride feature frames of hop samples).
double frame_seconds(const Model& model, int64_t frame) {
    const FrontEndConfig& f = model.metadata.front_end;
    return static_cast<double>(frame * model.config().time_reduction_stride * f.hop_length) /
           static_cast<double>(f.sample_rate);
}

// Text of a hypothesis as the pipeline's token processor gives it; empty for
// a model without a vocabulary (token ids are still reported).
std::string text_of(const Model& model, const std::vector<int64_t>& tokens, bool lstrip) {
    return model.metadata.vocabulary.empty() ? std::string() : detokenize(model.metadata, tokens, lstrip);
}

// The best hypothesis's emitted tokens (its leading seed token left out) join
// the result, timed from `first_frame` on.
void append_best(Stream& s, int64_t first_frame) {
    const Hypothesis& best = s.decoder.hypotheses.front();
    for (size_t i = 1; i < best.tokens.size(); ++i) {
        s.current.tokens.push_back(best.tokens[i]);
        s.current.times.push_back(frame_seconds(model_of(s), first_frame + best.frames[i]));
    }
    s.current.score = best.score;
}

// Feeds pending samples to the front end until it yields a segment, whose
// features become the stream's next transcriber chunk; false when the input
// so far holds no complete segment (after input_finished: none left). A
// segment has segment + right context + 1 frames; the transcriber's time
// reduction drops the extra one, and for stride 1, where torchaudio would
// refuse the chunk, ember takes the first segment + right context.
bool next_chunk(Stream& s) {
    StreamingFrontEnd& front_end = s.front_end;
    for (;;) {
        if (next_segment(front_end)) {
            std::copy_n(front_end.features.data(), s.chunk.size(), s.chunk.data());
            return true;
        }
        const int64_t left = static_cast<int64_t>(s.pending.size()) - s.pending_start;
        if (left > 0) {
            s.pending_start += accept(front_end, s.pending.data() + s.pending_start, left);
            continue;
        }
        s.pending.clear();
        s.pending_start = 0;
        if (!s.input_done || front_end.finished) return false;
        finish(front_end);
    }
}

Tensor chunk_view(Stream& s) {
    const EmformerRnntConfig& c = model_of(s).config();
    return {s.chunk.data(), chunk_input_frames(c), c.input_dim, c.input_dim};
}

Tensor encoded_view(Stream& s) {
    const EmformerRnntConfig& c = model_of(s).config();
    return {s.encoded.data(), chunk_output_rows(c), c.encoding_dim, c.encoding_dim};
}

// After a chunk's search (search_stream_chunk: seeded with the best
// hypothesis so far, as RNNTBeamSearch.infer) -> the chunk's text, appended.
// With carry_beam, the search carried on from the whole beam instead -> the
// best hypothesis's text so far, which replaces the last.
void take_chunk_result(Stream& s) {
    const std::vector<Hypothesis>& hypotheses = s.decoder.hypotheses;
    const int64_t rows = chunk_output_rows(model_of(s).config());
    // A carried beam's best is the whole path so far, its frames numbered from the first chunk's.
    const bool carried = s.recognizer->options.search.carry_beam && s.chunks > 0;
    if (carried) {
        s.current.tokens.clear();
        s.current.times.clear();
        s.text.clear();
    }
    append_best(s, carried ? 0 : s.chunks * rows);
    s.text += text_of(model_of(s), hypotheses.front().tokens, false);
    s.current.text = strip_whitespace(s.text, true, false);
    ++s.chunks;
}

// After the last chunk of finished input: the whole text stripped.
void end_streaming(Stream& s) {
    if (!s.input_done) return;
    s.current.text = strip_whitespace(s.text, true, true);
    s.decoded_all = true;
}

void decode_streaming(Stream& s) {
    while (next_chunk(s)) {
        transcribe_chunk(s.transcriber, chunk_view(s), encoded_view(s));
        search_stream_chunk(s.decoder, encoded_view(s), s.chunks == 0);
        take_chunk_result(s);
    }
    end_streaming(s);
}

void decode_whole(Stream& s) {
    const Model& model = model_of(s);
    const EmformerRnntConfig& c = model.config();
    s.decoded_all = true;
    if (s.pending.empty()) return;  // nothing was said: an empty result
    const Features features = extract_features(model.metadata.front_end, s.pending.data(),
                                               static_cast<int64_t>(s.pending.size()));
    const int64_t rows = transcribe_output_rows(c, features.frames);
    if (rows <= 0)
        fail("audio of ", s.pending.size(), " samples is too short for the model's right context of ",
             c.right_context_length, " frames");
    std::vector<float> encoded(static_cast<size_t>(rows * c.encoding_dim));
    const Tensor encoder_out{encoded.data(), rows, c.encoding_dim, c.encoding_dim};
    transcribe(model, {const_cast<float*>(features.values.data()), features.frames, c.input_dim, c.input_dim},
               encoder_out);
    const std::vector<Hypothesis>& hypotheses = search(s.decoder, encoder_out, nullptr);
    append_best(s, 0);
    s.current.text = text_of(model, hypotheses.front().tokens, true);
}

}  // namespace

Recognizer make_recognizer(const Model& model, const RecognizerOptions& options) {
    const ModelMetadata& m = model.metadata;
    if (!m.has_front_end)
        fail(model.file.origin, ": the model has no front-end settings; convert it again with ember convert");
    if (m.front_end.n_mels != m.config.input_dim)
        fail(model.file.origin, ": the front end makes ", m.front_end.n_mels, " mel bands but the model reads ",
             m.config.input_dim, " values per frame");
    check_search_options(m, options.search);
    std::string why;
    if (options.streaming && !streaming_supported(m.config, &why)) fail(model.file.origin, ": ", why);
    return {&model, options};
}

Stream make_stream(const Recognizer& recognizer) {
    const Model& model = *recognizer.model;
    const EmformerRnntConfig& c = model.config();
    Stream s;
    s.recognizer = &recognizer;
    s.decoder = make_decoder(model, recognizer.options.search);
    if (recognizer.options.streaming) {
        s.front_end = make_streaming_front_end(model.metadata.front_end, c.segment_length, c.right_context_length);
        s.transcriber = make_transcriber_stream(model);
        s.chunk.resize(static_cast<size_t>(chunk_input_frames(c) * c.input_dim));
        s.encoded.resize(static_cast<size_t>(chunk_output_rows(c) * c.encoding_dim));
        EMBER_CHECK(s.front_end.frames >= chunk_input_frames(c), "a streaming segment gives ", s.front_end.frames,
                    " feature frames, fewer than a transcriber chunk of ", chunk_input_frames(c));
    }
    return s;
}

void accept_waveform(Stream& s, const float* samples, int64_t count, int64_t sample_rate) {
    if (s.input_done) fail("accept_waveform after input_finished; reset the stream first");
    if (count < 0) fail("accept_waveform: negative sample count ", count);
    if (sample_rate <= 0) fail("accept_waveform: sample rate must be positive, got ", sample_rate);
    for (int64_t i = 0; i < count; ++i)
        if (!std::isfinite(samples[i])) fail("sample ", i, " of this piece of audio is ", samples[i]);
    const int64_t model_rate = model_of(s).metadata.front_end.sample_rate;
    if (s.input_rate == 0) {
        s.input_rate = sample_rate;
        s.resampling = sample_rate != model_rate;
        if (s.resampling) s.resampler = make_resample_stream(sample_rate, model_rate);
    } else if (sample_rate != s.input_rate) {
        fail("accept_waveform: sample rate changed from ", s.input_rate, " to ", sample_rate, " within one stream");
    }
    if (s.resampling)
        resample_accept(s.resampler, samples, count, s.pending);
    else
        s.pending.insert(s.pending.end(), samples, samples + count);
}

void input_finished(Stream& s) {
    if (s.input_done) return;
    if (s.resampling) resample_finish(s.resampler, s.pending);
    s.input_done = true;
}

bool is_ready(const Stream& s) {
    if (s.decoded_all) return false;
    if (s.input_done) return true;
    if (!s.recognizer->options.streaming) return false;
    const int64_t waiting = static_cast<int64_t>(s.pending.size()) - s.pending_start;
    return s.front_end.buffered + waiting >= s.front_end.window_samples;
}

void decode(Stream& s) {
    if (s.decoded_all) return;
    if (s.recognizer->options.streaming)
        decode_streaming(s);
    else if (s.input_done)
        decode_whole(s);
    s.current.final = s.decoded_all;
}

StreamBatch make_stream_batch(const Model& model, int64_t capacity) {
    StreamBatch batch;
    batch.transcriber = make_transcriber_batch(model, capacity);
    batch.streams.reserve(static_cast<size_t>(capacity));
    batch.transcribers.reserve(static_cast<size_t>(capacity));
    batch.chunks.reserve(static_cast<size_t>(capacity));
    batch.outs.reserve(static_cast<size_t>(capacity));
    batch.searches.reserve(static_cast<size_t>(capacity));
    return batch;
}

namespace {

// Transcribes the chunks the batch has gathered in one call, then searches
// them in lockstep (each joiner and predictor call over all the streams).
void decode_gathered(StreamBatch& b) {
    if (b.streams.empty()) return;
    const int64_t n = static_cast<int64_t>(b.streams.size());
    transcribe_chunks(b.transcriber, b.transcribers.data(), b.chunks.data(), b.outs.data(), n);
    b.searches.clear();
    for (int64_t i = 0; i < n; ++i) {
        Stream& s = *b.streams[static_cast<size_t>(i)];
        b.searches.push_back({&s.decoder, b.outs[static_cast<size_t>(i)], s.chunks == 0});
    }
    search_stream_chunks(b.search, b.searches.data(), n);
    for (Stream* s : b.streams) take_chunk_result(*s);
    b.streams.clear();
    b.transcribers.clear();
    b.chunks.clear();
    b.outs.clear();
}

}  // namespace

void decode_batch(StreamBatch& b, Stream* const* streams, int64_t count) {
    b.streams.clear();  // left over if an earlier call failed half-way
    b.transcribers.clear();
    b.chunks.clear();
    b.outs.clear();
    for (int64_t i = 0; i < count; ++i) {
        const Recognizer& r = *streams[i]->recognizer;
        EMBER_CHECK(r.options.streaming, "decode_batch: stream ", i, " does not stream");
        EMBER_CHECK(r.model == b.transcriber.model, "decode_batch: stream ", i, " runs another model");
        for (int64_t j = 0; j < i; ++j)
            EMBER_CHECK(streams[j] != streams[i], "decode_batch: stream ", i, " is stream ", j, " again");
    }
    // Rounds of one chunk from every stream that has one, in groups of at
    // most the batch's capacity, until none has: each stream's chunks go
    // through the transcriber and search in order, as decode would take them.
    for (bool any = true; any;) {
        any = false;
        for (int64_t i = 0; i < count; ++i) {
            Stream& s = *streams[i];
            if (s.decoded_all || !next_chunk(s)) continue;
            any = true;
            b.streams.push_back(&s);
            b.transcribers.push_back(&s.transcriber);
            b.chunks.push_back(chunk_view(s));
            b.outs.push_back(encoded_view(s));
            if (static_cast<int64_t>(b.streams.size()) == b.transcriber.capacity) decode_gathered(b);
        }
        decode_gathered(b);
    }
    for (int64_t i = 0; i < count; ++i) {
        if (!streams[i]->decoded_all) end_streaming(*streams[i]);
        streams[i]->current.final = streams[i]->decoded_all;
    }
}

RecognitionResult result(const Stream& s) { return s.current; }

void reset(Stream& s) {
    s.input_rate = 0;
    s.resampling = false;
    s.pending.clear();
    s.pending_start = 0;
    s.input_done = false;
    s.decoded_all = false;
    if (s.recognizer->options.streaming) {
        reset(s.front_end);
        reset_transcriber_stream(s.transcriber);
    }
    s.chunks = 0;
    s.text.clear();
    s.current = RecognitionResult();
}

}  // namespace ember
