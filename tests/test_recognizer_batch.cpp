// Streams decoded together (decode_batch) end as each decoded alone
// (decode): the same partial and final texts, tokens, times and scores, with
// streams starting, finishing and idling at different times, and more
// streams than the batch holds.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "model/model.h"
#include "model/recognizer.h"
#include "tests/test_support.h"

namespace {

using ember::test::synth_audio;

// One stream's life: from tick `start` on, a piece of audio per tick (sizes
// drawn per stream) until the audio runs out, then input_finished.
struct Script {
    int64_t start = 0;
    std::vector<float> audio;
    std::vector<int64_t> pieces;
};

std::vector<Script> make_scripts(int streams, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int64_t> start(0, 6), seconds_x10(3, 25), piece(200, 4000);
    std::vector<Script> scripts;
    for (int i = 0; i < streams; ++i) {
        Script s;
        s.start = start(rng);
        s.audio = synth_audio(seed * 31u + static_cast<uint32_t>(i), 1600 * seconds_x10(rng));
        for (int64_t at = 0; at < static_cast<int64_t>(s.audio.size()); at += s.pieces.back())
            s.pieces.push_back(std::min<int64_t>(piece(rng), static_cast<int64_t>(s.audio.size()) - at));
        scripts.push_back(std::move(s));
    }
    return scripts;
}

// The result after each tick the stream is live, and its final one.
struct Trace {
    std::vector<ember::RecognitionResult> results;
    int64_t chunks = 0;
};

void require_same(const ember::RecognitionResult& a, const ember::RecognitionResult& b) {
    REQUIRE(a.text == b.text);
    REQUIRE(a.tokens == b.tokens);
    REQUIRE(a.times == b.times);
    REQUIRE(a.score == b.score);
    REQUIRE(a.final == b.final);
}

// Gives stream `s` its piece for `tick`, or ends its input after the last.
// Returns whether the stream was live at this tick.
bool feed(ember::Stream& stream, const Script& s, int64_t tick) {
    const int64_t k = tick - s.start;
    if (k < 0 || k > static_cast<int64_t>(s.pieces.size())) return false;
    if (k == static_cast<int64_t>(s.pieces.size())) {
        ember::input_finished(stream);
        return true;
    }
    int64_t at = 0;
    for (int64_t j = 0; j < k; ++j) at += s.pieces[static_cast<size_t>(j)];
    ember::accept_waveform(stream, s.audio.data() + at, s.pieces[static_cast<size_t>(k)], 16000);
    return true;
}

int64_t last_tick(const std::vector<Script>& scripts) {
    int64_t last = 0;
    for (const Script& s : scripts) last = std::max(last, s.start + static_cast<int64_t>(s.pieces.size()));
    return last;
}

// Stream i runs recognizers[i % size].
using Recognizers = std::vector<const ember::Recognizer*>;
const ember::Recognizer& recognizer_of(const Recognizers& recognizers, size_t stream) {
    return *recognizers[stream % recognizers.size()];
}

// Every stream alone: decode whatever is ready after each piece.
std::vector<Trace> run_alone(const Recognizers& recognizers, const std::vector<Script>& scripts) {
    std::vector<Trace> traces;
    for (size_t i = 0; i < scripts.size(); ++i) {
        const Script& s = scripts[i];
        Trace trace;
        ember::Stream stream = ember::make_stream(recognizer_of(recognizers, i));
        for (int64_t tick = s.start; feed(stream, s, tick); ++tick) {
            while (ember::is_ready(stream)) ember::decode(stream);
            trace.results.push_back(ember::result(stream));
        }
        trace.chunks = stream.chunks;
        traces.push_back(std::move(trace));
    }
    return traces;
}

// Every stream in one batch: after each tick, one decode_batch over all the
// streams made so far, live, idle or done.
std::vector<Trace> run_batched(const Recognizers& recognizers, const std::vector<Script>& scripts,
                               int64_t capacity) {
    ember::StreamBatch batch = ember::make_stream_batch(*recognizers[0]->model, capacity);
    std::vector<ember::Stream> streams;
    for (size_t i = 0; i < scripts.size(); ++i) streams.push_back(ember::make_stream(recognizer_of(recognizers, i)));
    std::vector<ember::Stream*> all;
    for (ember::Stream& stream : streams) all.push_back(&stream);
    std::vector<Trace> traces(scripts.size());
    for (int64_t tick = 0; tick <= last_tick(scripts); ++tick) {
        std::vector<char> live(scripts.size());
        for (size_t i = 0; i < scripts.size(); ++i) live[i] = feed(streams[i], scripts[i], tick);
        ember::decode_batch(batch, all.data(), static_cast<int64_t>(all.size()));
        for (size_t i = 0; i < scripts.size(); ++i) {
            if (live[i]) traces[i].results.push_back(ember::result(streams[i]));
            REQUIRE(!ember::is_ready(streams[i]));
        }
    }
    for (size_t i = 0; i < scripts.size(); ++i) traces[i].chunks = streams[i].chunks;
    return traces;
}

// run_batched ends every stream as run_alone does; returns the tokens emitted.
int64_t require_batched_as_alone(const Recognizers& recognizers, const std::vector<Script>& scripts,
                                 int64_t capacity) {
    const std::vector<Trace> expected = run_alone(recognizers, scripts);
    const std::vector<Trace> got = run_batched(recognizers, scripts, capacity);
    int64_t tokens = 0;
    for (size_t i = 0; i < scripts.size(); ++i) {
        INFO("batch of " << capacity << ", stream " << i);
        REQUIRE(got[i].chunks == expected[i].chunks);
        REQUIRE(got[i].results.size() == expected[i].results.size());
        for (size_t t = 0; t < got[i].results.size(); ++t) require_same(got[i].results[t], expected[i].results[t]);
        REQUIRE(got[i].results.back().final);
        tokens += static_cast<int64_t>(expected[i].results.back().tokens.size());
    }
    return tokens;
}

}  // namespace

TEST_CASE("streams decoded together end as each decoded alone", "[recognizer][batch]") {
    // ln_1lstm: no memory, left context 4; temp1p5_noln: memory of 4 with tanh.
    for (const char* name : {"ln_1lstm", "temp1p5_noln"}) {
        const ember::Model model = ember::test::convert_and_load_decoder_fixture(name);
        int64_t tokens = 0;
        for (int64_t beam : {1, 4}) {
            ember::RecognizerOptions options;
            options.streaming = true;
            options.search.beam = beam;
            const ember::Recognizer recognizer = ember::make_recognizer(model, options);
            for (int streams : {1, 3, 7}) {
                const std::vector<Script> scripts = make_scripts(streams, 500u + static_cast<unsigned>(streams));
                for (int64_t capacity : {int64_t{streams}, int64_t{2}}) {
                    INFO(name << ", beam " << beam << ", " << streams << " streams");
                    tokens += require_batched_as_alone({&recognizer}, scripts, capacity);
                }
            }
        }
        // The texts mean something only if the model emits tokens (temp1p5_noln
        // does with beam 4, not greedily; the scores are compared either way).
        INFO(name);
        REQUIRE(tokens > 0);
    }
}

TEST_CASE("streams with different search options, searched in lockstep, end as each alone", "[recognizer][batch]") {
    // Every way a chunk's search can start (from the blank, seeded with or
    // without the seed's predictor state, the carried beam) and end a frame
    // (no extension left, step_max_tokens), with other beams and temperatures,
    // side by side in the same joiner and predictor calls.
    for (const char* name : {"ln_1lstm", "temp1p5_noln"}) {
        const ember::Model model = ember::test::convert_and_load_decoder_fixture(name);
        std::vector<ember::RecognizerOptions> options(6);
        for (ember::RecognizerOptions& o : options) o.streaming = true;
        options[0].search.beam = 1;
        options[1].search.beam = 4;
        options[2].search.beam = 4;
        options[2].search.carry_predictor = true;
        options[3].search.beam = 3;
        options[3].search.carry_beam = true;
        options[4].search.beam = 2;
        options[4].search.temperature = 1.7f;
        options[5].search.beam = 4;
        options[5].search.step_max_tokens = 1;
        std::vector<ember::Recognizer> recognizers;
        for (const ember::RecognizerOptions& o : options) recognizers.push_back(ember::make_recognizer(model, o));
        Recognizers mixed;
        for (const ember::Recognizer& r : recognizers) mixed.push_back(&r);
        const std::vector<Script> scripts = make_scripts(9, 77u);
        int64_t tokens = 0;
        for (int64_t capacity : {int64_t{9}, int64_t{4}}) {
            INFO(name);
            tokens += require_batched_as_alone(mixed, scripts, capacity);
        }
        INFO(name);
        REQUIRE(tokens > 0);
    }
}

TEST_CASE("decode_batch takes streams of one model with different beams, refuses others", "[recognizer][batch]") {
    const ember::Model model = ember::test::convert_and_load_decoder_fixture("ln_1lstm");
    const ember::Model other = ember::test::convert_and_load_decoder_fixture("temp1p5_noln");
    ember::RecognizerOptions options;
    options.streaming = true;
    options.search.beam = 1;
    const ember::Recognizer greedy = ember::make_recognizer(model, options);
    options.search.beam = 4;
    const ember::Recognizer beam4 = ember::make_recognizer(model, options);
    const ember::Recognizer foreign = ember::make_recognizer(other, options);
    options.streaming = false;
    const ember::Recognizer whole = ember::make_recognizer(model, options);

    // Greedy and beam 4 side by side, each as it would be alone.
    const std::vector<float> audio = synth_audio(3, 16000 * 2);
    ember::StreamBatch batch = ember::make_stream_batch(model, 2);
    ember::Stream a = ember::make_stream(greedy), b = ember::make_stream(beam4);
    ember::Stream a_alone = ember::make_stream(greedy), b_alone = ember::make_stream(beam4);
    for (ember::Stream* s : {&a, &b, &a_alone, &b_alone}) {
        ember::accept_waveform(*s, audio.data(), static_cast<int64_t>(audio.size()), 16000);
        ember::input_finished(*s);
    }
    ember::Stream* const pair[] = {&a, &b};
    ember::decode_batch(batch, pair, 2);
    ember::decode(a_alone);
    ember::decode(b_alone);
    require_same(ember::result(a), ember::result(a_alone));
    require_same(ember::result(b), ember::result(b_alone));
    REQUIRE(ember::result(a).final);
    REQUIRE(ember::result(a).tokens != ember::result(b).tokens);

    ember::Stream mine = ember::make_stream(greedy), theirs = ember::make_stream(foreign);
    ember::Stream not_streaming = ember::make_stream(whole);
    ember::Stream* const mixed[] = {&mine, &theirs};
    ember::Stream* const with_whole[] = {&mine, &not_streaming};
    CHECK_THROWS_WITH(ember::decode_batch(batch, mixed, 2), Catch::Contains("stream 1 runs another model"));
    CHECK_THROWS_WITH(ember::decode_batch(batch, with_whole, 2), Catch::Contains("stream 1 does not stream"));
    ember::Stream* const twice[] = {&mine, &mine};
    CHECK_THROWS_WITH(ember::decode_batch(batch, twice, 2), Catch::Contains("stream 1 is stream 0 again"));
}
