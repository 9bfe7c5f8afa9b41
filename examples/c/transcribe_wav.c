/* Transcribes a 16-bit PCM WAV file with ember's C API, streaming it in
 * pieces of 100 ms as live audio would arrive, printing partial results.
 *
 *     transcribe_wav MODEL.ember SPEECH.wav
 */
#include <ember.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A minimal reader for mono or multichannel 16-bit PCM WAV (channels averaged). */
static float* read_wav16(const char* path, size_t* count, int* rate) {
    FILE* f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char header[12], chunk[8];
    int channels = 0, bits = 0;
    float* samples = NULL;
    if (fread(header, 1, 12, f) != 12 || memcmp(header, "RIFF", 4) || memcmp(header + 8, "WAVE", 4)) goto done;
    while (fread(chunk, 1, 8, f) == 8) {
        uint32_t size = chunk[4] | chunk[5] << 8 | chunk[6] << 16 | (uint32_t)chunk[7] << 24;
        if (!memcmp(chunk, "fmt ", 4) && size >= 16) {
            unsigned char fmt[16];
            if (fread(fmt, 1, 16, f) != 16) goto done;
            channels = fmt[2] | fmt[3] << 8;
            *rate = (int)(fmt[4] | fmt[5] << 8 | fmt[6] << 16 | (uint32_t)fmt[7] << 24);
            bits = fmt[14] | fmt[15] << 8;
            fseek(f, (long)(size - 16 + (size & 1)), SEEK_CUR);
        } else if (!memcmp(chunk, "data", 4)) {
            if (bits != 16 || channels < 1) goto done;
            size_t frames = size / (2u * (unsigned)channels);
            int16_t* pcm = malloc(frames * (size_t)channels * 2);
            samples = malloc(frames * sizeof(float));
            if (!pcm || !samples || fread(pcm, 2, frames * (size_t)channels, f) != frames * (size_t)channels) {
                free(pcm);
                free(samples);
                samples = NULL;
                goto done;
            }
            for (size_t i = 0; i < frames; ++i) {
                float sum = 0.0f;
                for (int c = 0; c < channels; ++c) sum += pcm[i * (size_t)channels + (size_t)c] / 32768.0f;
                samples[i] = sum / (float)channels;
            }
            free(pcm);
            *count = frames;
            goto done;
        } else {
            fseek(f, (long)(size + (size & 1)), SEEK_CUR);
        }
    }
done:
    fclose(f);
    return samples;
}

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.ember SPEECH.wav (16-bit PCM)\n", argv[0]);
        return 2;
    }
    size_t count = 0;
    int rate = 0;
    float* samples = read_wav16(argv[2], &count, &rate);
    if (!samples) {
        fprintf(stderr, "%s: not a readable 16-bit PCM WAV file\n", argv[2]);
        return 1;
    }
    ember_model* model = NULL;
    ember_stream* stream = NULL;
    int status = 1;
    if (ember_model_load(argv[1], &model) != EMBER_OK) goto fail;
    ember_recognizer_params params = ember_recognizer_default_params();
    params.streaming = 1;
    if (ember_stream_create(model, &params, &stream) != EMBER_OK) goto fail;

    size_t piece = (size_t)rate / 10;
    for (size_t at = 0; at < count; at += piece) {
        size_t n = count - at < piece ? count - at : piece;
        if (ember_stream_accept_waveform(stream, samples + at, n, rate) != EMBER_OK) goto fail;
        while (ember_stream_is_ready(stream))
            if (ember_stream_decode(stream) != EMBER_OK) goto fail;
        printf("partial: %s\n", ember_stream_text(stream));
    }
    if (ember_stream_input_finished(stream) != EMBER_OK) goto fail;
    while (ember_stream_is_ready(stream))
        if (ember_stream_decode(stream) != EMBER_OK) goto fail;
    printf("text: %s\ntokens:", ember_stream_text(stream));
    for (size_t i = 0; i < ember_stream_token_count(stream); ++i) {
        int64_t id;
        double seconds;
        ember_stream_token(stream, i, &id, &seconds);
        printf(" %lld@%.2fs", (long long)id, seconds);
    }
    printf("\nfinal: %d\n", ember_stream_is_final(stream));
    status = 0;
    goto done;
fail:
    fprintf(stderr, "ember: %s\n", ember_last_error());
done:
    ember_stream_free(stream);
    ember_model_free(model);
    free(samples);
    return status;
}
