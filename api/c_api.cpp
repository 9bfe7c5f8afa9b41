// The C API (include/ember.h) over the C++ library: opaque handles, status
// codes and a thread-local error message; no exception crosses the boundary.
#include "ember.h"

#include <memory>
#include <new>
#include <string>
#include <vector>

#include "engine/error.h"
#include "model/model.h"
#include "model/recognizer.h"

struct ember_model {
    ember::Model model;
};

struct ember_stream {
    ember::Recognizer recognizer;  // the stream points at it: the handle never moves
    ember::Stream stream;
    ember::RecognitionResult result;
};

struct ember_stream_batch {
    ember::StreamBatch batch;
    std::vector<ember::Stream*> streams;  // the handles' streams, for decode_batch
};

namespace {

thread_local std::string last_error;

ember_status set_error(ember_status status, const std::string& message) {
    last_error = message;
    return status;
}

// Runs `body`, turning any exception into a status and a message.
template <class Body>
ember_status guarded(Body body) {
    try {
        last_error.clear();
        body();
        return EMBER_OK;
    } catch (const std::bad_alloc&) {
        return set_error(EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    } catch (const std::exception& error) {
        return set_error(EMBER_ERROR, error.what());
    } catch (...) {
        return set_error(EMBER_ERROR, "unknown error");
    }
}

}  // namespace

extern "C" {

const char* ember_last_error(void) { return last_error.c_str(); }

const char* ember_version(void) { return EMBER_VERSION; }

ember_status ember_model_load(const char* path, ember_model** model) {
    if (!model) return set_error(EMBER_ERROR_INVALID_ARGUMENT, "ember_model_load: model is NULL");
    *model = nullptr;
    if (!path) return set_error(EMBER_ERROR_INVALID_ARGUMENT, "ember_model_load: path is NULL");
    return guarded([&] { *model = new ember_model{ember::load_model(path)}; });
}

void ember_model_free(ember_model* model) { delete model; }

int ember_model_sample_rate(const ember_model* model) {
    return model ? static_cast<int>(model->model.metadata.front_end.sample_rate) : 0;
}

ember_recognizer_params ember_recognizer_default_params(void) {
    const ember::RecognizerOptions defaults;
    return {static_cast<int>(defaults.search.beam), defaults.search.temperature,
            static_cast<int>(defaults.search.step_max_tokens), defaults.streaming ? 1 : 0};
}

ember_status ember_stream_create(const ember_model* model, const ember_recognizer_params* params,
                                 ember_stream** stream) {
    if (!stream) return set_error(EMBER_ERROR_INVALID_ARGUMENT, "ember_stream_create: stream is NULL");
    *stream = nullptr;
    if (!model) return set_error(EMBER_ERROR_INVALID_ARGUMENT, "ember_stream_create: model is NULL");
    const ember_recognizer_params p = params ? *params : ember_recognizer_default_params();
    ember::RecognizerOptions options;
    options.search.beam = p.beam;
    options.search.temperature = p.temperature;
    options.search.step_max_tokens = p.step_max_tokens;
    options.streaming = p.streaming != 0;
    return guarded([&] {
        auto handle = std::make_unique<ember_stream>();
        handle->recognizer = ember::make_recognizer(model->model, options);
        handle->stream = ember::make_stream(handle->recognizer);
        *stream = handle.release();
    });
}

void ember_stream_free(ember_stream* stream) { delete stream; }

#define EMBER_REQUIRE_STREAM(name)                                                      \
    if (!stream) return set_error(EMBER_ERROR_INVALID_ARGUMENT, name ": stream is NULL")

ember_status ember_stream_accept_waveform(ember_stream* stream, const float* samples, size_t count, int sample_rate) {
    EMBER_REQUIRE_STREAM("ember_stream_accept_waveform");
    if (!samples && count > 0)
        return set_error(EMBER_ERROR_INVALID_ARGUMENT, "ember_stream_accept_waveform: samples is NULL");
    return guarded([&] {
        ember::accept_waveform(stream->stream, samples, static_cast<int64_t>(count), sample_rate);
    });
}

ember_status ember_stream_input_finished(ember_stream* stream) {
    EMBER_REQUIRE_STREAM("ember_stream_input_finished");
    return guarded([&] { ember::input_finished(stream->stream); });
}

int ember_stream_is_ready(const ember_stream* stream) { return stream && ember::is_ready(stream->stream) ? 1 : 0; }

ember_status ember_stream_decode(ember_stream* stream) {
    EMBER_REQUIRE_STREAM("ember_stream_decode");
    return guarded([&] {
        ember::decode(stream->stream);
        stream->result = ember::result(stream->stream);
    });
}

const char* ember_stream_text(const ember_stream* stream) { return stream ? stream->result.text.c_str() : ""; }

int ember_stream_is_final(const ember_stream* stream) { return stream && stream->result.final ? 1 : 0; }

size_t ember_stream_token_count(const ember_stream* stream) { return stream ? stream->result.tokens.size() : 0; }

ember_status ember_stream_token(const ember_stream* stream, size_t index, int64_t* id, double* seconds) {
    EMBER_REQUIRE_STREAM("ember_stream_token");
    if (index >= stream->result.tokens.size())
        return set_error(EMBER_ERROR_INVALID_ARGUMENT, "ember_stream_token: index " + std::to_string(index) +
                                                           " past the " + std::to_string(stream->result.tokens.size()) +
                                                           " tokens");
    if (id) *id = stream->result.tokens[index];
    if (seconds) *seconds = stream->result.times[index];
    return EMBER_OK;
}

ember_status ember_stream_reset(ember_stream* stream) {
    EMBER_REQUIRE_STREAM("ember_stream_reset");
    return guarded([&] {
        ember::reset(stream->stream);
        stream->result = ember::RecognitionResult();
    });
}

ember_status ember_stream_set_streaming_search(ember_stream* stream, ember_streaming_search search) {
    EMBER_REQUIRE_STREAM("ember_stream_set_streaming_search");
    if (search != EMBER_SEARCH_TORCHAUDIO && search != EMBER_SEARCH_CARRY_PREDICTOR &&
        search != EMBER_SEARCH_CARRY_BEAM)
        return set_error(EMBER_ERROR_INVALID_ARGUMENT, "ember_stream_set_streaming_search: unknown search " +
                                                           std::to_string(static_cast<int>(search)));
    ember::RecognizerOptions& options = stream->recognizer.options;
    if (!options.streaming)
        return set_error(EMBER_ERROR_INVALID_ARGUMENT,
                         "ember_stream_set_streaming_search: the stream does not stream (params.streaming = 0)");
    const ember::Stream& s = stream->stream;
    if (s.input_rate != 0 || s.input_done)
        return set_error(EMBER_ERROR, "ember_stream_set_streaming_search: the stream has audio already; call "
                                      "ember_stream_reset first");
    options.search.carry_predictor = search == EMBER_SEARCH_CARRY_PREDICTOR;
    options.search.carry_beam = search == EMBER_SEARCH_CARRY_BEAM;
    stream->stream.decoder.options = options.search;  // the decoder keeps its own copy
    return EMBER_OK;
}

ember_status ember_stream_batch_create(const ember_model* model, size_t capacity, ember_stream_batch** batch) {
    if (!batch) return set_error(EMBER_ERROR_INVALID_ARGUMENT, "ember_stream_batch_create: batch is NULL");
    *batch = nullptr;
    if (!model) return set_error(EMBER_ERROR_INVALID_ARGUMENT, "ember_stream_batch_create: model is NULL");
    if (capacity < 1 || capacity > (size_t{1} << 20))
        return set_error(EMBER_ERROR_INVALID_ARGUMENT,
                         "ember_stream_batch_create: capacity must be 1 to 1048576, not " + std::to_string(capacity));
    return guarded([&] {
        *batch = new ember_stream_batch{ember::make_stream_batch(model->model, static_cast<int64_t>(capacity)), {}};
    });
}

void ember_stream_batch_free(ember_stream_batch* batch) { delete batch; }

ember_status ember_stream_batch_decode(ember_stream_batch* batch, ember_stream* const* streams, size_t count) {
    if (!batch) return set_error(EMBER_ERROR_INVALID_ARGUMENT, "ember_stream_batch_decode: batch is NULL");
    if (!streams && count > 0)
        return set_error(EMBER_ERROR_INVALID_ARGUMENT, "ember_stream_batch_decode: streams is NULL");
    for (size_t i = 0; i < count; ++i)
        if (!streams[i])
            return set_error(EMBER_ERROR_INVALID_ARGUMENT,
                             "ember_stream_batch_decode: stream " + std::to_string(i) + " is NULL");
    return guarded([&] {
        batch->streams.clear();
        for (size_t i = 0; i < count; ++i) batch->streams.push_back(&streams[i]->stream);
        ember::decode_batch(batch->batch, batch->streams.data(), static_cast<int64_t>(count));
        for (size_t i = 0; i < count; ++i) streams[i]->result = ember::result(streams[i]->stream);
    });
}

}  // extern "C"
