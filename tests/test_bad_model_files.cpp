// .ember files that must fail when loaded, not give wrong output later
// (issue 7): tensors that disagree with the config in the file's own
// metadata, and a file from a newer format version. Each through the library
// and through `ember`, as a one-line error with exit code 1.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "engine/ember_file.h"
#include "engine/error.h"
#include "model/model.h"
#include "tests/test_support.h"

namespace {

using Metadata = std::vector<std::pair<std::string, ember::MetadataValue>>;
using Tensors = std::vector<ember::TensorToWrite>;
using Catch::Matchers::Contains;

// transcriber/s2_silu_mem_clamp: 3 Emformer layers, ffn_dim 53, 2 LSTM layers with layer norm.
const ember::Model& good_model() {
    static const ember::Model model = ember::test::convert_and_load_fixture("s2_silu_mem_clamp");
    return model;
}

// The good model's metadata and tensors, edited, written as scratch file `name`.
std::string rewrite(const std::string& name, const std::function<void(Metadata&, Tensors&)>& edit) {
    Metadata metadata = good_model().file.metadata;
    std::deque<std::vector<float>> storage;
    Tensors tensors = ember::test::tensors_to_rewrite(good_model().file, storage);
    edit(metadata, tensors);
    const std::string path = ember::test::scratch(name);
    ember::write_ember_file(path, metadata, tensors);
    return path;
}

ember::MetadataValue& entry(Metadata& metadata, const std::string& key) {
    for (auto& [k, value] : metadata)
        if (k == key) return value;
    ember::fail("the good model has no metadata ", key);
}

// Loading `path` fails with a message naming the file and holding `needle`;
// `ember info` prints it and exits 1. (A mismatch lists every problem, one
// per line, under a first line naming the file.)
void require_refused(const std::string& path, const std::string& needle) {
    REQUIRE_THROWS_WITH(ember::load_model(path), Contains(path) && Contains(needle));
    const ember::test::CommandResult info = ember::test::run_ember("info " + path);
    INFO(info.output);
    REQUIRE(info.exit_code == 1);
    REQUIRE(info.output.rfind("ember info: error: " + path + ": ", 0) == 0);
    REQUIRE(info.output.find(needle) != std::string::npos);
}

}  // namespace

TEST_CASE("a .ember whose tensors disagree with its config is refused at load, naming the tensor",
          "[ember_file][bad_input]") {
    SECTION("a wider feed-forward than the tensors have") {
        require_refused(rewrite("ffn_dim.ember", [](Metadata& m, Tensors&) {
                            entry(m, "emformer_rnnt.transformer_ffn_dim").int64 = 54;
                        }),
                        "wrong shape");
    }
    SECTION("one Emformer layer more than the file holds") {
        require_refused(rewrite("layers.ember", [](Metadata& m, Tensors&) {
                            entry(m, "emformer_rnnt.transformer_num_layers").int64 = 4;
                        }),
                        "missing tensor transcriber.transformer.emformer_layers.3.");
    }
    SECTION("LSTM layer norms the config says are absent") {
        require_refused(rewrite("layer_norm.ember", [](Metadata& m, Tensors&) {
                            entry(m, "emformer_rnnt.lstm_layer_norm").boolean = false;
                        }),
                        "unexpected tensor");
    }
    SECTION("a tensor left out") {
        require_refused(rewrite("no_joiner.ember", [](Metadata&, Tensors& t) {
                            t.erase(std::remove_if(t.begin(), t.end(),
                                                   [](const ember::TensorToWrite& x) { return x.name == "joiner.linear.weight"; }),
                                    t.end());
                        }),
                        "missing tensor joiner.linear.weight");
    }
    SECTION("a tensor other than a linear weight stored in panels") {
        require_refused(rewrite("packed_embedding.ember", [](Metadata&, Tensors& t) {
                            for (ember::TensorToWrite& x : t)
                                if (x.name == "predictor.embedding.weight")
                                    x.layout = ember::TensorLayout::float32_panels16;
                        }),
                        "tensor predictor.embedding.weight is stored as float32_panels16; only linear weights");
    }
    SECTION("a tensor transposed") {
        require_refused(rewrite("transposed.ember", [](Metadata&, Tensors& t) {
                            for (ember::TensorToWrite& x : t)
                                if (x.name == "joiner.linear.weight") std::swap(x.shape[0], x.shape[1]);
                        }),
                        "joiner.linear.weight");
    }
}

TEST_CASE("a .ember from a newer format version is refused at load", "[ember_file][bad_input]") {
    std::ifstream in(good_model().file.origin, std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const uint32_t major = ember::ember_version_major + 1;
    std::memcpy(&bytes[4], &major, 4);  // little-endian u32 after the magic (docs/FORMAT.md)
    const std::string path = ember::test::scratch("newer.ember");
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    require_refused(path, "written in .ember format " + std::to_string(major) + ".x, this ember reads 1.x to " +
                              std::to_string(ember::ember_version_major) + ".x; upgrade ember");
}
