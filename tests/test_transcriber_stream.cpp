// The streaming transcriber in process: a reset stream repeats itself exactly.
#include <catch2/catch.hpp>

#include <vector>

#include "engine/npy.h"
#include "model/model.h"
#include "model/transcriber.h"
#include "tests/test_support.h"


TEST_CASE("a reset stream reproduces its first output", "[transcriber]") {
    const ember::Model model = ember::test::convert_and_load_fixture("s2_silu_mem_clamp");
    const ember::EmformerRnntConfig& c = model.config();
    const ember::NpyArray features = ember::read_npy(ember::test::fixture("transcriber/s2_silu_mem_clamp/features.npy"));
    ember::TranscriberStream stream = ember::make_transcriber_stream(model);
    const int64_t frames = ember::chunk_input_frames(c), rows = ember::chunk_output_rows(c);
    std::vector<float> chunk(features.values.begin(), features.values.begin() + frames * c.input_dim);
    auto run = [&](int chunks) {
        std::vector<float> out(static_cast<size_t>(chunks * rows * c.encoding_dim));
        for (int k = 0; k < chunks; ++k)
            ember::transcribe_chunk(stream, {chunk.data(), frames, c.input_dim, c.input_dim},
                                    {out.data() + k * rows * c.encoding_dim, rows, c.encoding_dim, c.encoding_dim});
        return out;
    };
    const std::vector<float> first = run(5);
    ember::reset_transcriber_stream(stream);
    REQUIRE(run(5) == first);
    // The state matters: later chunks differ from the first although the input repeats.
    REQUIRE(!std::equal(first.begin(), first.begin() + rows * c.encoding_dim,
                        first.begin() + 4 * rows * c.encoding_dim));
}
