// Beam-search parity against committed torchaudio outputs (tests/fixtures/decoder/<case>/,
// written by tests/python/make_decode_fixtures.py): for every case, `ember convert` the
// model.pt, then for every run in expected_decode.json (beam 1, 4, 10; non-streaming and
// streaming) `ember decode --json` features.npy and compare with RNNTBeamSearch's hypotheses:
// the same number (per chunk when streaming), identical tokens in the same order, scores
// within kScoreTolerance * max(1, |score|); and the best hypothesis must emit within the
// case's frames_per_token band.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/test_support.h"
#include "tools/checkpoint/json.h"

namespace {

namespace fs = std::filesystem;
using ember::JsonValue;

constexpr double kScoreTolerance = 1e-3;
constexpr double kMaxFramesPerToken = 10.0;
constexpr double kDefaultTemperature = 1.0;  // RNNTBeamSearch's defaults: flags only when different
constexpr int kDefaultStepMaxTokens = 100;

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

// `ember decode` options for one run of a case.
std::string decode_flags(const JsonValue& expected, const JsonValue& run) {
    std::string flags = " --beam " + std::to_string(static_cast<int>(run.object.at("beam").number));
    if (run.object.at("streaming").boolean) flags += " --streaming";
    double temperature = expected.object.at("temperature").number;
    if (temperature != kDefaultTemperature) {
        char text[32];
        std::snprintf(text, sizeof text, "%.17g", temperature);
        flags += std::string(" --temperature ") + text;
    }
    int step_max_tokens = static_cast<int>(expected.object.at("step_max_tokens").number);
    if (step_max_tokens != kDefaultStepMaxTokens) flags += " --step-max-tokens " + std::to_string(step_max_tokens);
    return flags + " --json";
}

// run_ember captures standard output and error together; the JSON document is the outermost
// braces (ember prints nothing else on success, but a stray warning must not break the parse).
JsonValue parse_output(const std::string& output) {
    size_t first = output.find('{'), last = output.rfind('}');
    if (first == std::string::npos || last == std::string::npos || last < first)
        return ember::parse_json(output, "ember decode output");  // throws with the position
    return ember::parse_json(output.substr(first, last - first + 1), "ember decode output");
}

std::vector<int> tokens_of(const JsonValue& hypothesis) {
    std::vector<int> tokens;
    for (const JsonValue& token : hypothesis.object.at("tokens").array)
        tokens.push_back(static_cast<int>(token.number));
    return tokens;
}

// Checks one hypothesis list against torchaudio's; returns the best hypothesis's token count
// beyond its leading (blank or seed) token.
int check_hypotheses(const JsonValue& got, const JsonValue& want) {
    REQUIRE(got.kind == JsonValue::Kind::array);
    REQUIRE(got.array.size() == want.array.size());
    for (size_t i = 0; i < want.array.size(); ++i) {
        INFO("hypothesis " << i);
        const JsonValue& g = got.array[i];
        const JsonValue& w = want.array[i];
        REQUIRE(tokens_of(g) == tokens_of(w));
        double want_score = w.object.at("score").number;
        CHECK(std::fabs(g.object.at("score").number - want_score) <=
              kScoreTolerance * std::max(1.0, std::fabs(want_score)));
    }
    return static_cast<int>(tokens_of(got.array.at(0)).size()) - 1;
}

void check_run(const fs::path& case_dir, const fs::path& model, const JsonValue& expected, const JsonValue& run) {
    auto result = ember::test::run_ember("decode " + quoted(model) + " --features " +
                                         quoted(case_dir / "features.npy") + decode_flags(expected, run));
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    JsonValue got = parse_output(result.output);

    int emitted = 0;
    if (run.object.at("streaming").boolean) {
        const JsonValue& want_chunks = run.object.at("chunks");
        const JsonValue& got_chunks = got.object.at("chunks");
        REQUIRE(got_chunks.array.size() == want_chunks.array.size());
        for (size_t k = 0; k < want_chunks.array.size(); ++k) {
            INFO("chunk " << k);
            emitted += check_hypotheses(got_chunks.array[k].object.at("hypotheses"),
                                        want_chunks.array[k].object.at("hypotheses"));
        }
    } else {
        emitted = check_hypotheses(got.object.at("hypotheses"), run.object.at("hypotheses"));
    }

    // A decoder that emits nothing (or a token every frame) would prove little.
    const double frames = run.object.at("encoder_frames").number;
    const auto& band = expected.object.at("frames_per_token").array;
    INFO("emitted " << emitted << " tokens in " << frames << " encoder frames");
    REQUIRE(emitted > 0);
    CHECK(frames / emitted <= kMaxFramesPerToken);
    CHECK(frames / emitted >= band.at(0).number);
    CHECK(frames / emitted <= band.at(1).number);
}

}  // namespace

TEST_CASE("decode matches torchaudio's beam search on the committed fixtures", "[decoder]") {
    const std::vector<std::string> cases = ember::test::fixture_cases("decoder");
    REQUIRE(!cases.empty());

    for (const fs::path case_dir : cases) {
        const std::string name = case_dir.filename().string();
        DYNAMIC_SECTION(name) {
            const fs::path work = ember::test::scratch("decoder/" + name);
            fs::create_directories(work);
            const fs::path model =
                ember::test::convert_fixture_case(case_dir.string(), (work / "model.ember").string());

            const JsonValue expected = ember::read_json_file((case_dir / "expected_decode.json").string());
            for (const JsonValue& run : expected.object.at("runs").array) {
                const bool streaming = run.object.at("streaming").boolean;
                const int beam = static_cast<int>(run.object.at("beam").number);
                DYNAMIC_SECTION("beam " << beam << (streaming ? " streaming" : " non-streaming")) {
                    check_run(case_dir, model, expected, run);
                }
            }
        }
    }
}
