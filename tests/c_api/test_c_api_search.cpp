// The C API's streaming search choice (ember_stream_set_streaming_search):
// each gives the text, tokens and times of ember::Recognizer with the same
// search options, and the call is refused where it cannot apply.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ember.h"
#include "model/recognizer.h"
#include "tests/test_support.h"

namespace {

ember::RecognitionResult recognize(const ember::Model& model, const ember::SearchOptions& search,
                                   const std::vector<float>& audio) {
    ember::RecognizerOptions options;
    options.search = search;
    options.streaming = true;
    const ember::Recognizer recognizer = ember::make_recognizer(model, options);
    ember::Stream stream = ember::make_stream(recognizer);
    ember::accept_waveform(stream, audio.data(), static_cast<int64_t>(audio.size()), 16000);
    ember::input_finished(stream);
    while (ember::is_ready(stream)) ember::decode(stream);
    return ember::result(stream);
}

}  // namespace

TEST_CASE("ember_stream_set_streaming_search gives the recognizer's results for each search", "[c_api]") {
    const std::string path = ember::test::convert_decoder_fixture("ln_1lstm");
    const ember::Model cpp_model = ember::load_model(path);
    ember_model* model = nullptr;
    REQUIRE(ember_model_load(path.c_str(), &model) == EMBER_OK);
    const std::vector<float> audio = ember::test::synth_audio(7, 16000 * 3);
    ember_recognizer_params params = ember_recognizer_default_params();
    params.streaming = 1;
    params.beam = 4;
    const ember_streaming_search searches[] = {EMBER_SEARCH_TORCHAUDIO, EMBER_SEARCH_CARRY_PREDICTOR,
                                               EMBER_SEARCH_CARRY_BEAM};
    for (ember_streaming_search search : searches) {
        INFO("search " << static_cast<int>(search));
        ember_stream* stream = nullptr;
        REQUIRE(ember_stream_create(model, &params, &stream) == EMBER_OK);
        REQUIRE(ember_stream_set_streaming_search(stream, search) == EMBER_OK);
        for (size_t at = 0; at < audio.size(); at += 4000) {
            REQUIRE(ember_stream_accept_waveform(stream, audio.data() + at, 4000, 16000) == EMBER_OK);
            while (ember_stream_is_ready(stream)) REQUIRE(ember_stream_decode(stream) == EMBER_OK);
        }
        REQUIRE(ember_stream_input_finished(stream) == EMBER_OK);
        while (ember_stream_is_ready(stream)) REQUIRE(ember_stream_decode(stream) == EMBER_OK);

        ember::SearchOptions options;
        options.beam = 4;
        options.carry_predictor = search == EMBER_SEARCH_CARRY_PREDICTOR;
        options.carry_beam = search == EMBER_SEARCH_CARRY_BEAM;
        const ember::RecognitionResult want = recognize(cpp_model, options, audio);
        REQUIRE(ember_stream_is_final(stream));
        REQUIRE(ember_stream_token_count(stream) == want.tokens.size());
        REQUIRE(!want.tokens.empty());
        for (size_t i = 0; i < want.tokens.size(); ++i) {
            int64_t id = 0;
            double seconds = 0.0;
            REQUIRE(ember_stream_token(stream, i, &id, &seconds) == EMBER_OK);
            CHECK(id == want.tokens[i]);
            CHECK(seconds == want.times[i]);
        }
        CHECK(std::string(ember_stream_text(stream)) == want.text);

        // Only before audio: after a reset it may change again.
        CHECK(ember_stream_set_streaming_search(stream, EMBER_SEARCH_TORCHAUDIO) == EMBER_ERROR);
        CHECK(std::string(ember_last_error()).find("ember_stream_reset") != std::string::npos);
        REQUIRE(ember_stream_reset(stream) == EMBER_OK);
        CHECK(ember_stream_set_streaming_search(stream, EMBER_SEARCH_TORCHAUDIO) == EMBER_OK);
        CHECK(ember_stream_set_streaming_search(stream, static_cast<ember_streaming_search>(7)) ==
              EMBER_ERROR_INVALID_ARGUMENT);
        ember_stream_free(stream);
    }
    ember_stream* whole = nullptr;
    params.streaming = 0;
    REQUIRE(ember_stream_create(model, &params, &whole) == EMBER_OK);
    CHECK(ember_stream_set_streaming_search(whole, EMBER_SEARCH_CARRY_BEAM) == EMBER_ERROR_INVALID_ARGUMENT);
    CHECK(ember_stream_set_streaming_search(nullptr, EMBER_SEARCH_CARRY_BEAM) == EMBER_ERROR_INVALID_ARGUMENT);
    ember_stream_free(whole);
    ember_model_free(model);
}
