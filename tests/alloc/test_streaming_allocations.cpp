// A streaming chunk must not touch the heap once its stream is made. This
// binary replaces the global operator new to count allocations, so it is kept
// apart from the other tests (and from sanitizer builds, which replace it too).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "engine/npy.h"
#include "model/beam_search.h"
#include "model/model.h"
#include "model/transcriber.h"
#include "tests/test_support.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// Counts every heap allocation made by this test binary.
void* operator new(size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }


TEST_CASE("a streaming chunk makes no heap allocation after the stream is made", "[transcriber][alloc]") {
    // Memory and left context both fill up over the first chunks: run past that.
    for (const char* name : {"s2_silu_mem_clamp", "s4_relu_wide_context", "s3_gelu_6layers_mem1"}) {
        const ember::Model model = ember::test::convert_and_load_fixture(name);
        const ember::EmformerRnntConfig& c = model.config();
        ember::TranscriberStream stream = ember::make_transcriber_stream(model);
        std::vector<float> chunk(static_cast<size_t>(ember::chunk_input_frames(c) * c.input_dim));
        std::vector<float> out(static_cast<size_t>(ember::chunk_output_rows(c) * c.encoding_dim));
        const ember::Tensor chunk_view{chunk.data(), ember::chunk_input_frames(c), c.input_dim, c.input_dim};
        const ember::Tensor out_view{out.data(), ember::chunk_output_rows(c), c.encoding_dim, c.encoding_dim};
        for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<float>((i * 7919) % 101) / 50.0f - 1.0f;

        const long before = g_allocations.load();
        for (int k = 0; k < 12; ++k) ember::transcribe_chunk(stream, chunk_view, out_view);
        const long during = g_allocations.load() - before;
        INFO(name);
        REQUIRE(during == 0);
    }
}

TEST_CASE("a batched streaming call makes no heap allocation after the batch is made", "[transcriber][alloc]") {
    for (const char* name : {"s2_silu_mem_clamp", "s4_relu_wide_context"}) {
        const ember::Model model = ember::test::convert_and_load_fixture(name);
        const ember::EmformerRnntConfig& c = model.config();
        constexpr int kStreams = 3;
        ember::TranscriberBatch batch = ember::make_transcriber_batch(model, kStreams);
        std::vector<ember::TranscriberStream> streams;
        for (int i = 0; i < kStreams; ++i) streams.push_back(ember::make_transcriber_stream(model));
        ember::TranscriberStream* const members[] = {&streams[0], &streams[1], &streams[2]};
        std::vector<float> chunk(static_cast<size_t>(ember::chunk_input_frames(c) * c.input_dim));
        std::vector<float> out(static_cast<size_t>(kStreams * ember::chunk_output_rows(c) * c.encoding_dim));
        for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<float>((i * 7919) % 101) / 50.0f - 1.0f;
        const ember::Tensor chunk_view{chunk.data(), ember::chunk_input_frames(c), c.input_dim, c.input_dim};
        std::vector<ember::Tensor> chunks(kStreams, chunk_view), outs;
        for (int i = 0; i < kStreams; ++i)
            outs.push_back({out.data() + i * ember::chunk_output_rows(c) * c.encoding_dim, ember::chunk_output_rows(c),
                            c.encoding_dim, c.encoding_dim});

        const long before = g_allocations.load();
        // The batch grows and shrinks: the first stream, the first two, all three, and again.
        for (int k = 0; k < 12; ++k)
            ember::transcribe_chunks(batch, members, chunks.data(), outs.data(), 1 + k % kStreams);
        const long during = g_allocations.load() - before;
        INFO(name);
        REQUIRE(during == 0);
    }
}

TEST_CASE("a streaming chunk's search makes no heap allocation after the decoder is made", "[decoder][alloc]") {
    for (const char* name : {"s2_silu_mem_clamp", "s4_relu_wide_context", "s3_gelu_6layers_mem1"}) {
        const ember::Model model = ember::test::convert_and_load_fixture(name);
        const ember::EmformerRnntConfig& c = model.config();
        for (int64_t beam : {int64_t{1}, int64_t{4}, c.num_symbols - 1}) {
            ember::SearchOptions options;
            options.beam = beam;
            ember::TranscriberStream stream = ember::make_transcriber_stream(model);
            ember::Decoder decoder = ember::make_decoder(model, options);
            std::vector<float> chunk(static_cast<size_t>(ember::chunk_input_frames(c) * c.input_dim));
            std::vector<float> out(static_cast<size_t>(ember::chunk_output_rows(c) * c.encoding_dim));
            const ember::Tensor chunk_view{chunk.data(), ember::chunk_input_frames(c), c.input_dim, c.input_dim};
            const ember::Tensor out_view{out.data(), ember::chunk_output_rows(c), c.encoding_dim, c.encoding_dim};

            const long before = g_allocations.load();
            int64_t emitted = 0;
            for (size_t k = 0; k < 24; ++k) {
                for (size_t i = 0; i < chunk.size(); ++i)
                    chunk[i] = static_cast<float>((i * 7919 + k * 104729) % 101) / 25.0f - 2.0f;
                ember::transcribe_chunk(stream, chunk_view, out_view);
                // Seeded with the previous chunk's best, as RNNTBeamSearch.infer is.
                const ember::Hypothesis* seed = k > 0 ? &decoder.hypotheses.front() : nullptr;
                const auto& hypotheses = ember::search(decoder, out_view, seed);
                emitted += static_cast<int64_t>(hypotheses.front().tokens.size()) - 1;
            }
            const long during = g_allocations.load() - before;
            INFO(name << ", beam " << beam << ": " << emitted << " tokens emitted, "
                      << decoder.stats.predictor_calls << " predictor calls");
            CHECK(emitted > 0);
            REQUIRE(during == 0);
        }
    }
}

TEST_CASE("under carry_beam a chunk's search allocates only when the transcript outgrows its storage",
          "[decoder][alloc]") {
    // continue_search keeps every hypothesis's whole token history, so its
    // storage must grow; growing geometrically, it reallocates a bounded number
    // of times while the transcript doubles, not once per chunk.
    for (const char* name : {"s2_silu_mem_clamp", "s4_relu_wide_context"}) {
        const ember::Model model = ember::test::convert_and_load_fixture(name);
        const ember::EmformerRnntConfig& c = model.config();
        for (int64_t beam : {int64_t{1}, int64_t{4}, c.num_symbols - 1}) {
            ember::SearchOptions options;
            options.beam = beam;
            options.carry_beam = true;
            ember::TranscriberStream stream = ember::make_transcriber_stream(model);
            ember::Decoder decoder = ember::make_decoder(model, options);
            std::vector<float> chunk(static_cast<size_t>(ember::chunk_input_frames(c) * c.input_dim));
            std::vector<float> out(static_cast<size_t>(ember::chunk_output_rows(c) * c.encoding_dim));
            const ember::Tensor chunk_view{chunk.data(), ember::chunk_input_frames(c), c.input_dim, c.input_dim};
            const ember::Tensor out_view{out.data(), ember::chunk_output_rows(c), c.encoding_dim, c.encoding_dim};

            constexpr size_t kChunks = 400;
            long allocations = 0;  // in the second half of the chunks, when the transcript about doubles
            size_t tokens_at_half = 0;
            for (size_t k = 0; k < kChunks; ++k) {
                for (size_t i = 0; i < chunk.size(); ++i)
                    chunk[i] = static_cast<float>((i * 7919 + k * 104729) % 101) / 25.0f - 2.0f;
                ember::transcribe_chunk(stream, chunk_view, out_view);
                const long before = g_allocations.load();
                const auto& hypotheses =
                    k == 0 ? ember::search(decoder, out_view, nullptr) : ember::continue_search(decoder, out_view);
                if (k >= kChunks / 2) allocations += g_allocations.load() - before;
                if (k == kChunks / 2 - 1) tokens_at_half = hypotheses.front().tokens.size();
            }
            const size_t tokens = decoder.hypotheses.front().tokens.size();
            // Each of the beam's token and frame lists, the tree's two lists and
            // compact_tree's scratch may double twice (capacities move between
            // hypotheses as they are reordered).
            const long bound = 2 * (2 * beam + 3);
            INFO(name << ", beam " << beam << ": " << tokens_at_half << " then " << tokens << " tokens, "
                      << allocations << " allocations in the second " << kChunks / 2 << " chunks (bound " << bound
                      << ")");
            CHECK(tokens_at_half > 200);
            CHECK(tokens > tokens_at_half * 3 / 2);
            REQUIRE(allocations <= bound);
        }
    }
}
