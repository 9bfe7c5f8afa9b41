// Streams advanced together (transcribe_chunks) give exactly what each gives
// alone (transcribe_chunk): bit for bit, whichever streams share a call, in
// whatever order, as streams join and leave the batch. This also holds the
// kernels to their side of it: a row of kernels::linear's output must not
// depend on how many rows share the call (M), nor on the thread count.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "kernels/kernels.h"
#include "model/model.h"
#include "model/transcriber.h"
#include "tests/test_support.h"

namespace {

// One utterance: its chunks, one after another, (chunks * chunk_input_frames, input_dim).
struct Utterance {
    int64_t start = 0;   // the batch step its first chunk is given at
    int64_t chunks = 0;
    std::vector<float> input;
    std::vector<float> output;  // (chunks * chunk_output_rows, encoding_dim)
};

ember::Tensor chunk_of(std::vector<float>& values, int64_t k, int64_t rows, int64_t cols) {
    return {values.data() + k * rows * cols, rows, cols, cols};
}

// Utterances for `slots` slots: each slot runs a few utterances in turn with
// gaps between them, so streams join and leave the batch at different steps.
std::vector<std::vector<Utterance>> make_utterances(const ember::EmformerRnntConfig& c, int slots, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int64_t> length(1, 9), gap(0, 3);
    std::vector<std::vector<Utterance>> all(static_cast<size_t>(slots));
    for (std::vector<Utterance>& slot : all) {
        int64_t step = gap(rng);
        for (int u = 0; u < 3; ++u) {
            Utterance utterance;
            utterance.start = step;
            utterance.chunks = length(rng);
            utterance.input.resize(static_cast<size_t>(utterance.chunks * ember::chunk_input_frames(c) * c.input_dim));
            for (float& x : utterance.input) x = normal(rng);
            step += utterance.chunks + gap(rng);
            slot.push_back(std::move(utterance));
        }
    }
    return all;
}

// Each utterance alone on a fresh stream.
std::vector<float> run_alone(const ember::Model& model, Utterance& utterance) {
    const ember::EmformerRnntConfig& c = model.config();
    const int64_t frames = ember::chunk_input_frames(c), rows = ember::chunk_output_rows(c);
    std::vector<float> out(static_cast<size_t>(utterance.chunks * rows * c.encoding_dim));
    ember::TranscriberStream stream = ember::make_transcriber_stream(model);
    for (int64_t k = 0; k < utterance.chunks; ++k)
        ember::transcribe_chunk(stream, chunk_of(utterance.input, k, frames, c.input_dim),
                                chunk_of(out, k, rows, c.encoding_dim));
    return out;
}

// Every slot's utterances through one batch: at each step, the slots with a
// chunk due share one transcribe_chunks call, in a shuffled order; a slot's
// stream is reset between its utterances.
void run_batched(const ember::Model& model, std::vector<std::vector<Utterance>>& slots, unsigned seed) {
    const ember::EmformerRnntConfig& c = model.config();
    const int64_t frames = ember::chunk_input_frames(c), rows = ember::chunk_output_rows(c);
    ember::TranscriberBatch batch = ember::make_transcriber_batch(model, static_cast<int64_t>(slots.size()));
    std::vector<ember::TranscriberStream> streams;
    for (size_t i = 0; i < slots.size(); ++i) streams.push_back(ember::make_transcriber_stream(model));
    for (std::vector<Utterance>& slot : slots)
        for (Utterance& u : slot) u.output.assign(static_cast<size_t>(u.chunks * rows * c.encoding_dim), 0.0f);

    std::mt19937 rng(seed);
    std::vector<size_t> order(slots.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (int64_t step = 0;; ++step) {
        std::shuffle(order.begin(), order.end(), rng);
        std::vector<ember::TranscriberStream*> members;
        std::vector<ember::Tensor> chunks, outs;
        bool later = false;
        for (size_t i : order) {
            for (Utterance& u : slots[i]) {
                later = later || u.start + u.chunks > step;
                if (step < u.start || step >= u.start + u.chunks) continue;
                const int64_t k = step - u.start;
                if (k == 0) ember::reset_transcriber_stream(streams[i]);
                members.push_back(&streams[i]);
                chunks.push_back(chunk_of(u.input, k, frames, c.input_dim));
                outs.push_back(chunk_of(u.output, k, rows, c.encoding_dim));
            }
        }
        if (!later) break;
        if (!members.empty())
            ember::transcribe_chunks(batch, members.data(), chunks.data(), outs.data(),
                                     static_cast<int64_t>(members.size()));
    }
}

// Restores the kernels' thread count when a test ends, however it ends.
struct KernelThreads {
    explicit KernelThreads(int threads) { ember::kernels::set_num_threads(threads); }
    ~KernelThreads() { ember::kernels::set_num_threads(1); }
};

const char* const kStreamingFixtures[] = {"s1_relu_1layer_1head", "s2_silu_mem_clamp", "s2_gelu_mem_tanh_lc0",
                                          "s3_gelu_6layers_mem1", "s4_relu_wide_context"};

}  // namespace

TEST_CASE("streams transcribed together equal each stream alone, bit for bit", "[transcriber][batch]") {
    // No memory and no left context (s1), memory with and without left context
    // (s2 clamp, s2 tanh lc0), one memory slot over six layers (s3), right
    // context as long as a segment and no memory (s4).
    for (const char* name : kStreamingFixtures) {
        const ember::Model model = ember::test::convert_and_load_fixture(name);
        for (int slots : {1, 3, 7}) {
            std::vector<std::vector<Utterance>> utterances =
                make_utterances(model.config(), slots, 1000u + static_cast<unsigned>(slots));
            run_batched(model, utterances, 7u * static_cast<unsigned>(slots));
            for (size_t i = 0; i < utterances.size(); ++i)
                for (size_t u = 0; u < utterances[i].size(); ++u) {
                    INFO(name << ": " << slots << " slots, slot " << i << ", utterance " << u);
                    REQUIRE(utterances[i][u].output == run_alone(model, utterances[i][u]));
                }
        }
    }
}

TEST_CASE("a batch split across kernel threads equals each stream alone on one", "[transcriber][batch]") {
    const ember::Model model = ember::test::convert_and_load_fixture("s2_silu_mem_clamp");
    std::vector<std::vector<Utterance>> utterances = make_utterances(model.config(), 5, 77u);
    {
        const KernelThreads threads(2);
        run_batched(model, utterances, 78u);
    }
    for (std::vector<Utterance>& slot : utterances)
        for (Utterance& u : slot) REQUIRE(u.output == run_alone(model, u));
}

TEST_CASE("transcribe_chunks refuses a stream twice, too many streams or another model", "[transcriber][batch]") {
    const ember::Model model = ember::test::convert_and_load_fixture("s2_silu_mem_clamp");
    const ember::Model other = ember::test::convert_and_load_fixture("s2_gelu_mem_tanh_lc0");
    const ember::EmformerRnntConfig& c = model.config();
    std::vector<float> input(static_cast<size_t>(ember::chunk_input_frames(c) * c.input_dim), 0.5f);
    std::vector<float> output(static_cast<size_t>(2 * ember::chunk_output_rows(c) * c.encoding_dim));
    const ember::Tensor chunk{input.data(), ember::chunk_input_frames(c), c.input_dim, c.input_dim};
    const ember::Tensor out{output.data(), ember::chunk_output_rows(c), c.encoding_dim, c.encoding_dim};
    const ember::Tensor chunks[] = {chunk, chunk}, outs[] = {out, chunk_of(output, 1, out.rows, out.cols)};

    ember::TranscriberBatch batch = ember::make_transcriber_batch(model, 2);
    ember::TranscriberStream a = ember::make_transcriber_stream(model), b = ember::make_transcriber_stream(model);
    ember::TranscriberStream foreign = ember::make_transcriber_stream(other);
    ember::TranscriberStream* const twice[] = {&a, &a};
    ember::TranscriberStream* const three[] = {&a, &b, &a};
    ember::TranscriberStream* const mixed[] = {&a, &foreign};
    CHECK_THROWS_WITH(ember::transcribe_chunks(batch, twice, chunks, outs, 2), Catch::Contains("is stream 0 again"));
    CHECK_THROWS_WITH(ember::transcribe_chunks(batch, three, chunks, outs, 3),
                      Catch::Contains("3 streams for a batch of at most 2"));
    CHECK_THROWS_WITH(ember::transcribe_chunks(batch, mixed, chunks, outs, 2), Catch::Contains("another model"));
    CHECK_THROWS_WITH(ember::make_transcriber_batch(model, 0), Catch::Contains("at least one stream"));
}
