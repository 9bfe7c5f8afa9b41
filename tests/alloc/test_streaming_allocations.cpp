// A streaming chunk must not touch the heap once its stream is made. This
// binary replaces the global operator new to count allocations, so it is kept
// apart from the other tests (and from sanitizer builds, which replace it too).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "engine/npy.h"
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
