// Inputs the fuzz targets (fuzz/) found, each kept as a fixture under
// tests/fixtures/fuzz/ and in the target's corpus: the parser must now
// refuse it with an ember::Error, quickly.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/error.h"
#include "model/model.h"
#include "tests/test_support.h"

namespace {

std::vector<uint8_t> fixture_bytes(const std::string& name) {
    std::ifstream in(ember::test::fixture("fuzz/" + name), std::ios::binary);
    REQUIRE(in);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

// fuzz_ember, timeout: a 19 KB file of 36 tensors whose metadata claims 3450
// Emformer layers made the loader build and compare a ~55k-name tensor list
// and a 55k-problem report (0.7 s of CPU per input, 12 s under ASan on a
// busy machine). Now refused by counting tensors first.
TEST_CASE("fuzz regression: a config with far more layers than the file has tensors is refused at once",
          "[fuzz][ember_file]") {
    const std::vector<uint8_t> bytes = fixture_bytes("ember_3450_layers.ember");
    const auto start = std::chrono::steady_clock::now();
    REQUIRE_THROWS_MATCHES(ember::load_model_from_bytes(bytes.data(), bytes.size(), "crafted.ember"), ember::Error,
                           Catch::Matchers::Message(
                               "crafted.ember: the config has 3450 Emformer and 1 LSTM layers, but the file holds "
                               "only 36 tensors"));
    REQUIRE(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(100));
}
