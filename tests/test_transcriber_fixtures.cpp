// Transcriber parity against committed torchaudio outputs (tests/fixtures/transcriber/<case>/,
// written by tests/python/make_fixtures.py): for every case, `ember convert` the model.pt,
// `ember encode` features.npy non-streaming and streaming, and compare with expected.npy and
// expected_streaming.npy. A case without expected_streaming.npy is one torchaudio's streaming
// cannot serve with whole-frame chunks; there `ember encode --streaming` must refuse.
#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "engine/ember_file.h"
#include "engine/npy.h"
#include "tests/test_support.h"

namespace {

namespace fs = std::filesystem;

constexpr float kTolerance = 1e-4f;

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

// Largest |got - expected| over arrays of one shape; NaN counts as infinitely far.
float max_abs_diff(const ember::NpyArray& got, const ember::NpyArray& expected) {
    float worst = 0.0f;
    for (size_t i = 0; i < got.values.size(); ++i) {
        float d = std::fabs(got.values[i] - expected.values[i]);
        worst = std::isnan(d) ? std::numeric_limits<float>::infinity() : std::max(worst, d);
    }
    return worst;
}

// Runs `ember encode` on the case's features and compares with `expected_name`.
void check_encode(const fs::path& case_dir, const fs::path& model, const fs::path& out,
                  const std::string& flags, const std::string& expected_name) {
    fs::remove(out);
    auto result = ember::test::run_ember("encode " + quoted(model) + " --features " +
                                         quoted(case_dir / "features.npy") + " --out " + quoted(out) + flags);
    INFO(result.output);
    REQUIRE(result.exit_code == 0);

    ember::NpyArray got = ember::read_npy(out.string());
    ember::NpyArray expected = ember::read_npy((case_dir / expected_name).string());
    REQUIRE(got.shape == expected.shape);
    CHECK(max_abs_diff(got, expected) <= kTolerance);
}

}  // namespace

TEST_CASE("encode matches torchaudio on the committed fixtures", "[transcriber]") {
    const std::vector<std::string> cases = ember::test::fixture_cases("transcriber");
    REQUIRE(!cases.empty());

    for (const fs::path case_dir : cases) {
        const std::string name = case_dir.filename().string();
        DYNAMIC_SECTION(name) {
            const fs::path work = ember::test::scratch("transcriber/" + name);
            fs::create_directories(work);
            const fs::path model =
                ember::test::convert_fixture_case(case_dir.string(), (work / "model.ember").string());

            SECTION("non-streaming") { check_encode(case_dir, model, work / "got_full.npy", "", "expected.npy"); }

            // ember convert stores linear weights in panels; .ember 1.x files
            // hold them in rows, which the loader takes through kernels::linear.
            SECTION("non-streaming, linear weights in rows") {
                const ember::EmberFile packed = ember::open_ember_file(model.string());
                std::deque<std::vector<float>> storage;
                std::vector<ember::TensorToWrite> tensors = ember::test::tensors_to_rewrite(packed, storage);
                int64_t unpacked = 0;
                for (ember::TensorToWrite& t : tensors) {
                    unpacked += t.layout == ember::TensorLayout::float32_panels16;
                    t.layout = ember::TensorLayout::float32;
                }
                REQUIRE(unpacked > 0);
                const fs::path rows = work / "model_rows.ember";
                ember::write_ember_file(rows.string(), packed.metadata, tensors);
                check_encode(case_dir, rows, work / "got_rows.npy", "", "expected.npy");
            }

            SECTION("streaming") {
                if (fs::exists(case_dir / "expected_streaming.npy")) {
                    check_encode(case_dir, model, work / "got_streaming.npy", " --streaming",
                                 "expected_streaming.npy");
                } else {
                    // segment_length or right_context_length is not a multiple of the stride.
                    const fs::path out = work / "got_streaming.npy";
                    fs::remove(out);
                    auto refused = ember::test::run_ember("encode " + quoted(model) + " --features " +
                                                          quoted(case_dir / "features.npy") + " --out " +
                                                          quoted(out) + " --streaming");
                    INFO(refused.output);
                    CHECK(refused.exit_code != 0);
                    CHECK(refused.exit_code < 128);  // refused, not crashed
                    CHECK(lowercase(refused.output).find("stride") != std::string::npos);
                    CHECK(!fs::exists(out));
                }
            }
        }
    }
}
