// One Model shared by 16 threads, each streaming its own audio through its
// own Stream: every partial and final result must equal a single-threaded run
// of the same audio. Run under TSan by scripts/sanitize.sh tsan.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "model/model.h"
#include "model/recognizer.h"
#include "tests/test_support.h"

namespace {

using ember::test::synth_audio;

// A tiny model (tests/fixtures/decoder/ln_1lstm, 19 KB) with a character
// vocabulary, converted once per process.
const ember::Model& tiny_model() {
    static const ember::Model model = ember::test::convert_and_load_decoder_fixture("ln_1lstm");
    return model;
}

struct Trace {
    std::vector<std::vector<int64_t>> partial_tokens;  // after each piece of audio
    std::vector<std::string> partial_texts;
    ember::RecognitionResult final;
    int64_t chunks = 0;
};

// Streams `audio` in pieces of varying size, decoding whatever is ready.
Trace run_stream(const ember::Recognizer& recognizer, const std::vector<float>& audio, uint32_t seed) {
    Trace trace;
    ember::Stream stream = ember::make_stream(recognizer);
    std::mt19937 rng(seed * 7919u + 1u);
    std::uniform_int_distribution<int64_t> piece(100, 2500);
    for (size_t at = 0; at < audio.size();) {
        const int64_t n = std::min<int64_t>(piece(rng), static_cast<int64_t>(audio.size() - at));
        ember::accept_waveform(stream, audio.data() + at, n, 16000);
        at += static_cast<size_t>(n);
        while (ember::is_ready(stream)) ember::decode(stream);
        const ember::RecognitionResult r = ember::result(stream);
        trace.partial_tokens.push_back(r.tokens);
        trace.partial_texts.push_back(r.text);
    }
    ember::input_finished(stream);
    while (ember::is_ready(stream)) ember::decode(stream);
    trace.final = ember::result(stream);
    trace.chunks = stream.chunks;
    return trace;
}

}  // namespace

TEST_CASE("16 threads share one Model, each with its own Stream, and match single-threaded runs", "[stress]") {
    const ember::Model& model = tiny_model();
    ember::RecognizerOptions options;
    options.streaming = true;
    options.search.beam = 4;
    const ember::Recognizer recognizer = ember::make_recognizer(model, options);

    constexpr int kThreads = 16;
    const int64_t samples = 16000 * 3;  // 3 s each: ~35 chunks of 8 frames
    std::vector<std::vector<float>> audio;
    for (int t = 0; t < kThreads; ++t) audio.push_back(synth_audio(static_cast<uint32_t>(t + 1), samples));

    std::vector<Trace> expected;
    for (int t = 0; t < kThreads; ++t) expected.push_back(run_stream(recognizer, audio[t], static_cast<uint32_t>(t)));

    std::vector<Trace> got(kThreads);
    std::atomic<int> waiting{kThreads};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            // Start together so that the streams really overlap.
            waiting.fetch_sub(1);
            while (waiting.load() > 0) std::this_thread::yield();
            got[t] = run_stream(recognizer, audio[t], static_cast<uint32_t>(t));
        });
    for (std::thread& thread : threads) thread.join();

    int64_t tokens = 0;
    for (int t = 0; t < kThreads; ++t) {
        INFO("thread " << t);
        REQUIRE(expected[t].chunks >= 30);
        REQUIRE(got[t].chunks == expected[t].chunks);
        REQUIRE(got[t].partial_tokens == expected[t].partial_tokens);
        REQUIRE(got[t].partial_texts == expected[t].partial_texts);
        REQUIRE(got[t].final.final);
        REQUIRE(got[t].final.text == expected[t].final.text);
        REQUIRE(got[t].final.tokens == expected[t].final.tokens);
        REQUIRE(got[t].final.times == expected[t].final.times);
        REQUIRE(got[t].final.score == expected[t].final.score);
        tokens += static_cast<int64_t>(expected[t].final.tokens.size());
    }
    // The comparison means something only if the model emits tokens.
    REQUIRE(tokens > 0);
    // Different audio gives different results (the threads do not share state).
    bool differ = false;
    for (int t = 1; t < kThreads; ++t) differ |= expected[t].final.tokens != expected[0].final.tokens;
    REQUIRE(differ);
}
