// `ember bench` with batched streams (--streams), the kernel pool (--threads)
// and unbatched streams side by side (--concurrent): well-formed JSON with
// the batched figures, briefly, on a tiny model.
#include <catch2/catch.hpp>

#include <string>

#include "tests/test_support.h"
#include "tools/checkpoint/json.h"

namespace {

const ember::JsonValue& field(const ember::JsonValue& object, const std::string& key) {
    INFO("key " << key);
    REQUIRE(object.object.count(key) == 1);
    return object.object.at(key);
}

}  // namespace

TEST_CASE("ember bench --streams reports batched streams per core", "[bench][batch]") {
    const std::string model = ember::test::convert_decoder_fixture("temp1p5_noln");
    const auto run = ember::test::run_ember("bench " + model +
                                            " --seconds 1 --beam 1,4 --streams 3 --threads 2 --concurrent 2 --json");
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    const ember::JsonValue out = ember::parse_json(run.output, "ember bench");
    CHECK(field(out, "threads").number == 2);
    CHECK(field(out, "concurrent_threads").number == 2);
    CHECK(field(out, "concurrent_wall_s").array.size() == 2);

    const ember::JsonValue& batched = field(out, "batched");
    REQUIRE(batched.array.size() == 3);  // encoder only, beam 1, beam 4
    for (const ember::JsonValue& r : batched.array) {
        CHECK(field(r, "streams").number == 3);
        CHECK(field(field(r, "streams_per_core"), "cpu").number > 0);
    }
    CHECK(field(batched.array[0], "beam").number == 0);
    const ember::JsonValue& per_core = field(out, "streams_per_core_batched");
    REQUIRE(per_core.array.size() == 2);
    CHECK(field(per_core.array[1], "beam").number == 4);
    CHECK(field(per_core.array[1], "streams").number == 3);
    CHECK(field(field(out, "streams_per_core_batched_encoder"), "streams").number == 3);
}

TEST_CASE("ember bench without --streams leaves the batched figures null", "[bench][batch]") {
    const std::string model = ember::test::convert_decoder_fixture("ln_1lstm");
    const auto run = ember::test::run_ember("bench " + model + " --seconds 1 --beam 1 --json");
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    const ember::JsonValue out = ember::parse_json(run.output, "ember bench");
    CHECK(field(out, "batched").kind == ember::JsonValue::Kind::null);
    CHECK(field(out, "streams_per_core_batched").kind == ember::JsonValue::Kind::null);
    CHECK(field(out, "threads").number == 1);
    CHECK(field(out, "streams_per_core_single").array.size() == 1);

    CHECK(ember::test::run_ember("bench " + model + " --streams 0").exit_code == 2);
}

TEST_CASE("ember bench --carry-beam and --carry-predictor time the streaming search decode runs", "[bench][decoder]") {
    // The streaming runs' token counts equal those of `ember decode --streaming`
    // with the same flag on the same features: the bench times that search.
    const std::string model = ember::test::convert_decoder_fixture("ln_1lstm");
    const std::string features = ember::test::fixture("decoder/ln_1lstm/features.npy");
    for (const std::string flag : {"", " --carry-predictor", " --carry-beam"}) {
        INFO("flag '" << flag << "'");
        const auto bench = ember::test::run_ember("bench " + model + " --features " + features + " --beam 3" + flag +
                                                  " --json");
        INFO(bench.output);
        REQUIRE(bench.exit_code == 0);
        const ember::JsonValue out = ember::parse_json(bench.output, "ember bench");
        CHECK(field(out, "streaming_search").string ==
              (flag.empty() ? "torchaudio" : flag == " --carry-beam" ? "carry_beam" : "carry_predictor"));
        const ember::JsonValue& streaming = field(out, "streaming");
        REQUIRE(streaming.array.size() == 2);  // encoder only, beam 3
        const double bench_tokens = field(streaming.array[1], "tokens").number;

        const auto decode = ember::test::run_ember("decode " + model + " --features " + features +
                                                   " --streaming --beam 3 --json" + flag);
        INFO(decode.output);
        REQUIRE(decode.exit_code == 0);
        const ember::JsonValue chunks = field(ember::parse_json(decode.output, "ember decode"), "chunks");
        double decode_tokens = 0;  // each chunk's best, less its seed token; carried: the last chunk's whole path
        for (size_t k = flag == " --carry-beam" ? chunks.array.size() - 1 : 0; k < chunks.array.size(); ++k)
            decode_tokens += static_cast<double>(
                field(field(chunks.array[k], "hypotheses").array.front(), "tokens").array.size() - 1);
        CHECK(bench_tokens == decode_tokens);
        CHECK(bench_tokens > 0);
    }
}
