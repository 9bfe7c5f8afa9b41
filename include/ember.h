/*
 * ember: streaming Emformer RNN-T speech recognition on the CPU -- the C API.
 *
 *     ember_model* model;
 *     if (ember_model_load("model.ember", &model) != EMBER_OK) {
 *         fprintf(stderr, "%s\n", ember_last_error());
 *         return 1;
 *     }
 *     ember_recognizer_params params = ember_recognizer_default_params();
 *     params.streaming = 1;
 *     ember_stream* stream;
 *     ember_stream_create(model, &params, &stream);
 *     while (read_audio(samples, &count))  {                      // any rate, mono, [-1, 1]
 *         ember_stream_accept_waveform(stream, samples, count, 16000);
 *         while (ember_stream_is_ready(stream)) ember_stream_decode(stream);
 *         printf("partial: %s\n", ember_stream_text(stream));
 *     }
 *     ember_stream_input_finished(stream);
 *     while (ember_stream_is_ready(stream)) ember_stream_decode(stream);
 *     printf("%s\n", ember_stream_text(stream));
 *     ember_stream_free(stream);
 *     ember_model_free(model);
 *
 * Many streaming streams on one thread: ember_stream_batch_decode decodes
 * them together, each transcriber call stacking a chunk of up to `capacity`
 * streams so that the encoder's weights are read once for all of them, and
 * their beam searches in lockstep, each joiner and predictor call over the
 * hypotheses of all of them:
 *
 *     ember_stream_batch* batch;
 *     ember_stream_batch_create(model, 16, &batch);
 *     ember_stream_batch_decode(batch, streams, n);   // ember_stream* streams[n]
 *     ember_stream_batch_free(batch);
 *
 * A model is immutable once loaded: any number of threads may create and run
 * streams on one model at once. A stream (or a batch) is used by one thread at
 * a time.
 * No function throws or aborts: failures return a status, and
 * ember_last_error() says what went wrong.
 */
#ifndef EMBER_H
#define EMBER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define EMBER_API __attribute__((visibility("default")))
#else
#define EMBER_API
#endif

typedef enum ember_status {
    EMBER_OK = 0,
    EMBER_ERROR_INVALID_ARGUMENT = 1, /* a null pointer or an option out of range */
    EMBER_ERROR = 2,                  /* a bad file, bad audio, a model that cannot do what was asked */
    EMBER_ERROR_OUT_OF_MEMORY = 3
} ember_status;

/* The message of the last failure on this thread ("" if none); valid until the next ember call on it. */
EMBER_API const char* ember_last_error(void);
/* "MAJOR.MINOR.PATCH" of the library. */
EMBER_API const char* ember_version(void);

typedef struct ember_model ember_model;

/* Maps a .ember file and checks it. On failure *model is set to NULL. */
EMBER_API ember_status ember_model_load(const char* path, ember_model** model);
/* Frees a model (NULL is ignored). Free its streams first. */
EMBER_API void ember_model_free(ember_model* model);
/* The sample rate the model's front end expects (audio at other rates is resampled). */
EMBER_API int ember_model_sample_rate(const ember_model* model);

typedef struct ember_recognizer_params {
    int beam;            /* beam width, 1 (greedy) .. num_symbols - 1; default 10 */
    float temperature;   /* joiner temperature; default 1.0 */
    int step_max_tokens; /* tokens emitted per encoder frame at most; default 100 */
    int streaming;       /* 1: results as audio arrives; 0 (default): the whole utterance at once */
} ember_recognizer_params;

EMBER_API ember_recognizer_params ember_recognizer_default_params(void);

typedef struct ember_stream ember_stream;

/* A stream for one utterance at a time. params may be NULL (defaults). */
EMBER_API ember_status ember_stream_create(const ember_model* model, const ember_recognizer_params* params,
                                           ember_stream** stream);
EMBER_API void ember_stream_free(ember_stream* stream);

/* Mono samples in [-1, 1] at sample_rate; every call on a stream must use the same rate. */
EMBER_API ember_status ember_stream_accept_waveform(ember_stream* stream, const float* samples, size_t count,
                                                    int sample_rate);
/* No more audio for this utterance. */
EMBER_API ember_status ember_stream_input_finished(ember_stream* stream);
/* 1 when ember_stream_decode has work to do, else 0. */
EMBER_API int ember_stream_is_ready(const ember_stream* stream);
/* Decodes everything that is ready. */
EMBER_API ember_status ember_stream_decode(ember_stream* stream);

/* The text so far (partial), or the final text once is_final; valid until the stream changes. */
EMBER_API const char* ember_stream_text(const ember_stream* stream);
EMBER_API int ember_stream_is_final(const ember_stream* stream);
/* Emitted tokens: their count, and token i's id and time in seconds. */
EMBER_API size_t ember_stream_token_count(const ember_stream* stream);
EMBER_API ember_status ember_stream_token(const ember_stream* stream, size_t index, int64_t* id, double* seconds);

/* Ready for a new utterance. */
EMBER_API ember_status ember_stream_reset(ember_stream* stream);

/* How a streaming stream's beam search goes on from one chunk to the next. */
typedef enum ember_streaming_search {
    /* Default, torchaudio's RNNTBeamSearch.infer: each chunk's search starts from the best
       hypothesis of the chunk before, feeding its last token through the predictor again. */
    EMBER_SEARCH_TORCHAUDIO = 0,
    /* From the best hypothesis's own predictor state (the token is not fed twice). */
    EMBER_SEARCH_CARRY_PREDICTOR = 1,
    /* The whole beam carried on, each hypothesis with its own predictor state: the final text
       is the non-streaming search's over the streaming encoder's frames; partial texts may be
       revised by later chunks. */
    EMBER_SEARCH_CARRY_BEAM = 2
} ember_streaming_search;

/* Sets a streaming stream's search, before its first audio or after ember_stream_reset. */
EMBER_API ember_status ember_stream_set_streaming_search(ember_stream* stream, ember_streaming_search search);

typedef struct ember_stream_batch ember_stream_batch;

/* Scratch for decoding streaming streams of one model together, up to capacity (>= 1)
   per transcriber call. On failure *batch is set to NULL. */
EMBER_API ember_status ember_stream_batch_create(const ember_model* model, size_t capacity,
                                                 ember_stream_batch** batch);
EMBER_API void ember_stream_batch_free(ember_stream_batch* batch);
/* ember_stream_decode on each of the count streams (streaming, on the batch's model, each at
   most once; their beams may differ), their chunks transcribed and searched together. Each stream ends as
   ember_stream_decode on it alone would leave it. */
EMBER_API ember_status ember_stream_batch_decode(ember_stream_batch* batch, ember_stream* const* streams,
                                                 size_t count);

#ifdef __cplusplus
}
#endif

#endif /* EMBER_H */
