// Audio in, text out: torchaudio's RNNTBundle pipeline (feature extractor,
// RNNTBeamSearch, SentencePiece token processor) behind a streaming API.
//
//     ember::Model model = ember::load_model("model.ember");          // shared, read-only
//     ember::Recognizer recognizer = ember::make_recognizer(model, {});  // options: beam, streaming, ...
//     ember::Stream stream = ember::make_stream(recognizer);            // one per utterance / thread
//     while (audio) {
//         ember::accept_waveform(stream, samples, count, sample_rate);
//         while (ember::is_ready(stream)) ember::decode(stream);
//         show(ember::result(stream).text);                             // partial
//     }
//     ember::input_finished(stream);
//     while (ember::is_ready(stream)) ember::decode(stream);
//     ember::RecognitionResult final = ember::result(stream);          // final.final == true
//
// Many streams on one thread: decode_batch advances every given stream's
// ready chunks together, each transcriber call stacking one chunk of up to
// `capacity` streams (the encoder's weights read once for all of them), and
// their searches in lockstep (each joiner and predictor call over the
// hypotheses of all of them):
//
//     ember::StreamBatch batch = ember::make_stream_batch(model, 16);
//     ember::decode_batch(batch, streams.data(), streams.size());  // streams: std::vector<ember::Stream*>
//
// Streaming mode follows the pipeline's streaming loop: segments of the
// waveform become features on their own, each chunk runs through the
// transcriber with its state carried and a beam search seeded with the best
// hypothesis of the chunk before (RNNTBeamSearch.infer); each chunk's best
// hypothesis is detokenized without stripping and appended, and the whole is
// stripped at the end. With SearchOptions::carry_beam the search instead
// carries on from the whole beam at every chunk (continue_search), and the
// text is the best hypothesis's so far: later chunks may revise it, and
// the final text is that of the non-streaming search over the streaming
// encoder's frames. Non-streaming mode waits for input_finished, then runs
// the feature extractor, RNNT.transcribe and RNNTBeamSearch.forward once.
#pragma once

#include <string>
#include <vector>

#include "engine/resample.h"
#include "model/beam_search.h"
#include "model/front_end.h"
#include "model/model.h"
#include "model/transcriber.h"

namespace ember {

struct RecognizerOptions {
    SearchOptions search;    // beam 10, as the pipeline example
    bool streaming = false;
};

// The model and the options, shared by any number of streams.
struct Recognizer {
    const Model* model = nullptr;
    RecognizerOptions options;
};

// Throws ember::Error when the model lacks front-end settings or cannot be
// searched with these options, or cannot stream when asked to.
Recognizer make_recognizer(const Model& model, const RecognizerOptions& options);

struct RecognitionResult {
    std::string text;
    std::vector<int64_t> tokens;  // emitted token ids, in order
    std::vector<double> times;    // seconds: start of the encoder frame each token was emitted at
    float score = 0.0f;           // the best hypothesis's score (of the latest chunk when streaming)
    bool final = false;           // input finished and everything decoded
};

// One utterance being recognized. Owns all per-utterance state.
struct Stream {
    const Recognizer* recognizer = nullptr;
    int64_t input_rate = 0;              // rate of the accepted samples; fixed by the first call
    bool resampling = false;
    ResampleStream resampler;
    std::vector<float> pending;          // samples at the model's rate not yet given to the front end
    int64_t pending_start = 0;           // first pending sample not yet consumed
    bool input_done = false;
    bool decoded_all = false;
    // Streaming.
    StreamingFrontEnd front_end;
    TranscriberStream transcriber;
    std::vector<float> chunk;            // (segment + right context, input_dim)
    std::vector<float> encoded;          // (segment / stride, encoding_dim)
    int64_t chunks = 0;
    std::string text;                    // the chunks' texts, unstripped
    // Both modes.
    Decoder decoder;
    RecognitionResult current;
};

Stream make_stream(const Recognizer& recognizer);

// Samples in [-1, 1] at `sample_rate` (resampled to the model's rate as
// torchaudio.functional.resample would). Every call on a stream must use the
// same rate. Throws ember::Error on NaN/Inf samples, a changed rate, or input
// after input_finished.
void accept_waveform(Stream& stream, const float* samples, int64_t count, int64_t sample_rate);
void input_finished(Stream& stream);

// True when decode() has work: a complete chunk (streaming), or finished input.
bool is_ready(const Stream& stream);
// Decodes everything ready.
void decode(Stream& stream);
RecognitionResult result(const Stream& stream);

// Scratch for decoding streaming streams of one model together (their
// recognizers' search options may differ).
struct StreamBatch {
    TranscriberBatch transcriber;
    // The streams whose chunks the next transcriber call takes (at most capacity).
    std::vector<Stream*> streams;
    std::vector<TranscriberStream*> transcribers;
    std::vector<Tensor> chunks, outs;
    // Their searches, advanced in lockstep (search_stream_chunks).
    SearchNetworks search;
    std::vector<ChunkSearch> searches;
};

// Throws ember::Error when the model cannot stream or capacity < 1.
StreamBatch make_stream_batch(const Model& model, int64_t capacity);

// decode() on each of `count` streaming streams of batch's model (each at
// most once), the chunks of different streams transcribed together: rounds
// of one ready chunk per stream, in transcriber calls of up to the batch's
// capacity, until no stream has a chunk ready. Every stream ends exactly as
// decode() on it alone would leave it; a stream with nothing ready is left
// as it is. Throws ember::Error for a stream that does not stream or runs
// another model.
void decode_batch(StreamBatch& batch, Stream* const* streams, int64_t count);

// Ready for a new utterance, keeping buffers and tables.
void reset(Stream& stream);

}  // namespace ember
