// The C API's batched decoding, through libember itself: streams decoded
// together (ember_stream_batch_decode) end as each decoded alone.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ember.h"
#include "tests/test_support.h"

namespace {

struct Result {
    std::string text;
    std::vector<int64_t> tokens;
    std::vector<double> times;
    bool final = false;
};

Result result_of(const ember_stream* stream) {
    Result r;
    r.text = ember_stream_text(stream);
    r.final = ember_stream_is_final(stream) != 0;
    for (size_t i = 0; i < ember_stream_token_count(stream); ++i) {
        int64_t id = 0;
        double seconds = 0.0;
        REQUIRE(ember_stream_token(stream, i, &id, &seconds) == EMBER_OK);
        r.tokens.push_back(id);
        r.times.push_back(seconds);
    }
    return r;
}

}  // namespace

TEST_CASE("ember_stream_batch_decode ends each stream as ember_stream_decode alone", "[c_api][batch]") {
    ember_model* model = nullptr;
    REQUIRE(ember_model_load(ember::test::convert_decoder_fixture("ln_1lstm").c_str(), &model) == EMBER_OK);
    const int beams[] = {1, 4, 4};
    std::vector<ember_stream*> together, alone;
    for (int beam : beams) {
        ember_recognizer_params params = ember_recognizer_default_params();
        params.streaming = 1;
        params.beam = beam;
        for (std::vector<ember_stream*>* list : {&together, &alone}) {
            ember_stream* stream = nullptr;
            REQUIRE(ember_stream_create(model, &params, &stream) == EMBER_OK);
            list->push_back(stream);
        }
    }
    ember_stream_batch* batch = nullptr;
    REQUIRE(ember_stream_batch_create(model, 2, &batch) == EMBER_OK);

    // Stream i gets its own audio in pieces of 0.25 s; the batch decodes after every piece.
    const int64_t piece = 4000;
    std::vector<std::vector<float>> audio;
    for (size_t i = 0; i < together.size(); ++i)
        audio.push_back(ember::test::synth_audio(static_cast<uint32_t>(10 + i), 16000 * (1 + static_cast<int64_t>(i))));
    for (int64_t at = 0; at < 16000 * 3; at += piece) {
        for (size_t i = 0; i < together.size(); ++i) {
            if (at >= static_cast<int64_t>(audio[i].size())) continue;
            for (ember_stream* stream : {together[i], alone[i]})
                REQUIRE(ember_stream_accept_waveform(stream, audio[i].data() + at, piece, 16000) == EMBER_OK);
            while (ember_stream_is_ready(alone[i])) REQUIRE(ember_stream_decode(alone[i]) == EMBER_OK);
        }
        REQUIRE(ember_stream_batch_decode(batch, together.data(), together.size()) == EMBER_OK);
        for (size_t i = 0; i < together.size(); ++i) REQUIRE(result_of(together[i]).text == result_of(alone[i]).text);
    }
    for (size_t i = 0; i < together.size(); ++i) {
        REQUIRE(ember_stream_input_finished(together[i]) == EMBER_OK);
        REQUIRE(ember_stream_input_finished(alone[i]) == EMBER_OK);
        while (ember_stream_is_ready(alone[i])) REQUIRE(ember_stream_decode(alone[i]) == EMBER_OK);
    }
    REQUIRE(ember_stream_batch_decode(batch, together.data(), together.size()) == EMBER_OK);
    size_t tokens = 0;
    for (size_t i = 0; i < together.size(); ++i) {
        INFO("stream " << i);
        const Result got = result_of(together[i]), expected = result_of(alone[i]);
        REQUIRE(got.final);
        REQUIRE(got.text == expected.text);
        REQUIRE(got.tokens == expected.tokens);
        REQUIRE(got.times == expected.times);
        tokens += got.tokens.size();
    }
    REQUIRE(tokens > 0);

    ember_stream* const twice[] = {together[0], together[0]};
    CHECK(ember_stream_batch_decode(batch, twice, 2) == EMBER_ERROR);
    CHECK(std::string(ember_last_error()).find("stream 1 is stream 0 again") != std::string::npos);
    ember_stream* const with_null[] = {together[0], nullptr};
    CHECK(ember_stream_batch_decode(batch, with_null, 2) == EMBER_ERROR_INVALID_ARGUMENT);
    ember_stream_batch* none = nullptr;
    CHECK(ember_stream_batch_create(model, 0, &none) == EMBER_ERROR_INVALID_ARGUMENT);
    CHECK(none == nullptr);

    ember_stream_batch_free(batch);
    for (ember_stream* stream : together) ember_stream_free(stream);
    for (ember_stream* stream : alone) ember_stream_free(stream);
    ember_model_free(model);
}
