// Bad input through the `ember` command line: every case must end with a clear
// one-line message and exit code 1 (runtime) or 2 (usage) -- never a crash,
// a hang or a silent success.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "engine/npy.h"
#include "tests/test_support.h"

namespace {

namespace fs = std::filesystem;
using ember::test::fixture;
using ember::test::run_ember;
using ember::test::scratch;

const std::string kCase = "transcriber/s2_silu_mem_clamp";

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A good .ember converted once from the fixture.
const std::string& good_model() {
    static const std::string path = [] {
        const std::string out = scratch("cli_errors_good.ember");
        auto result = run_ember("convert --checkpoint " + fixture(kCase + "/model.pt") + " --config " +
                                fixture(kCase + "/config.json") + " -o " + out);
        if (result.exit_code != 0) FAIL("could not convert the fixture: " << result.output);
        return out;
    }();
    return path;
}

// Exit code 1 or 2 (not a signal), with a message mentioning `needle`.
void require_clean_failure(const ember::test::CommandResult& result, const std::string& needle, int code = 1) {
    INFO(result.output);
    REQUIRE(result.exit_code == code);
    REQUIRE(result.output.find(needle) != std::string::npos);
    REQUIRE(result.output.find("ember") == 0);  // our own message, not a runtime's abort text
}

std::string encode_args(const std::string& model, const std::string& features) {
    return "encode " + model + " --features " + features + " --out " + scratch("cli_errors_out.npy");
}

}  // namespace

TEST_CASE("truncated .ember files are refused at every length", "[cli][ember_file]") {
    const std::string bytes = read_bytes(good_model());
    const std::string path = scratch("cli_errors_truncated.ember");
    // Every length through the header and table, then a spread through the data.
    std::vector<size_t> lengths;
    for (size_t n = 0; n < 600 && n < bytes.size(); n += 7) lengths.push_back(n);
    for (size_t n = 600; n < bytes.size(); n += bytes.size() / 23) lengths.push_back(n);
    lengths.push_back(bytes.size() - 1);
    for (size_t n : lengths) {
        write_bytes(path, bytes.substr(0, n));
        auto result = run_ember("info " + path);
        INFO("length " << n << ": " << result.output);
        REQUIRE(result.exit_code == 1);
    }
}

TEST_CASE("bit-flipped .ember files load or fail cleanly", "[cli][ember_file]") {
    const std::string bytes = read_bytes(good_model());
    const std::string path = scratch("cli_errors_flipped.ember");
    std::mt19937 rng(7);
    for (int trial = 0; trial < 40; ++trial) {
        std::string flipped = bytes;
        // Flip inside the header/metadata/tensor table, where flips change meaning.
        const size_t at = std::uniform_int_distribution<size_t>(0, std::min<size_t>(bytes.size(), 4096) - 1)(rng);
        flipped[at] = static_cast<char>(flipped[at] ^ (1 << (trial % 8)));
        write_bytes(path, flipped);
        auto result = run_ember(encode_args(path, fixture(kCase + "/features.npy")));
        INFO("flip at byte " << at << ": " << result.output);
        REQUIRE((result.exit_code == 0 || result.exit_code == 1));
    }
}

TEST_CASE("truncated and bit-flipped checkpoints are refused cleanly", "[cli][checkpoint]") {
    const std::string bytes = read_bytes(fixture(kCase + "/model.pt"));
    const std::string path = scratch("cli_errors_bad.pt");
    const std::string convert = "convert --config " + fixture(kCase + "/config.json") + " -o " +
                                scratch("cli_errors_bad.ember") + " --checkpoint " + path;
    for (size_t n : {size_t(0), size_t(10), bytes.size() / 3, bytes.size() - 30, bytes.size() - 1}) {
        write_bytes(path, bytes.substr(0, n));
        auto result = run_ember(convert);
        INFO("length " << n << ": " << result.output);
        REQUIRE(result.exit_code == 1);
    }
    std::mt19937 rng(11);
    for (int trial = 0; trial < 30; ++trial) {
        std::string flipped = bytes;
        const size_t at = std::uniform_int_distribution<size_t>(0, bytes.size() - 1)(rng);
        flipped[at] = static_cast<char>(flipped[at] ^ 0x5a);
        write_bytes(path, flipped);
        auto result = run_ember(convert);
        INFO("flip at byte " << at << ": " << result.output);
        REQUIRE((result.exit_code == 0 || result.exit_code == 1));
    }
}

TEST_CASE("configs that do not fit the checkpoint are refused with the reason", "[cli][convert]") {
    const std::string config = read_bytes(fixture(kCase + "/config.json"));
    const std::string path = scratch("cli_errors_config.json");
    auto convert_with = [&](const std::string& text) {
        write_bytes(path, text);
        return run_ember("convert --checkpoint " + fixture(kCase + "/model.pt") + " --config " + path + " -o " +
                         scratch("cli_errors_config.ember"));
    };
    auto replace = [&](const std::string& from, const std::string& to) {
        std::string text = config;
        const size_t at = text.find(from);
        REQUIRE(at != std::string::npos);
        return text.replace(at, from.size(), to);
    };
    // One more layer than the checkpoint holds: the missing tensors are listed.
    require_clean_failure(convert_with(replace("\"transformer_num_layers\": 3", "\"transformer_num_layers\": 4")),
                          "missing tensor transcriber.transformer.emformer_layers.3.attention.emb_to_key_value.weight");
    // A different width: shapes are reported as got vs expected.
    require_clean_failure(convert_with(replace("\"encoding_dim\": 29", "\"encoding_dim\": 30")), "wrong shape");
    require_clean_failure(convert_with(replace("\"lstm_layer_norm\": true", "\"lstm_layer_norm\": false")),
                          "unexpected tensor");
    require_clean_failure(convert_with(replace("\"transformer_num_layers\": 3,", "")), "transformer_num_layers");
    require_clean_failure(convert_with(replace("\"transformer_num_layers\": 3", "\"transformer_num_layers\": \"3\"")),
                          "must be an integer");
    require_clean_failure(convert_with(replace("\"transformer_num_heads\": 3", "\"transformer_num_heads\": 4")),
                          "must divide");
    require_clean_failure(convert_with(replace("\"transformer_activation\": \"silu\"", "\"transformer_activation\": \"elu\"")),
                          "transformer_activation");
    require_clean_failure(convert_with(replace("{", "{\"typo_key\": 1, ")), "unknown key");
    require_clean_failure(convert_with("{\"input_dim\": "), "config");
}

TEST_CASE("features of the wrong dtype or shape are refused", "[cli][encode]") {
    const std::string path = scratch("cli_errors_features.npy");
    // float64 .npy, hand-written.
    std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 37), }";
    header.append(118 - header.size(), ' ');
    header += '\n';
    write_bytes(path, std::string("\x93NUMPY\x01\x00", 8) + std::string(1, char(header.size())) + std::string(1, '\0') +
                          header + std::string(4 * 37 * 8, '\0'));
    require_clean_failure(run_ember(encode_args(good_model(), path)), "float32");

    const std::vector<float> values(2 * 5 * 37, 0.5f);
    ember::write_npy(path, values.data(), {10, 37 / 1 - 1});
    require_clean_failure(run_ember(encode_args(good_model(), path)), "shape");
    ember::write_npy(path, values.data(), {2, 5, 37});
    require_clean_failure(run_ember(encode_args(good_model(), path)), "shape");
    ember::write_npy(path, values.data(), {2, 37});
    require_clean_failure(run_ember(encode_args(good_model(), path)), "too few");
    write_bytes(path, "not an npy file at all");
    require_clean_failure(run_ember(encode_args(good_model(), path)), "NumPy");
}

TEST_CASE("flags, paths and verbs are checked", "[cli]") {
    REQUIRE(run_ember("--help").exit_code == 0);
    for (const char* verb : {"convert", "info", "encode"}) {
        auto result = run_ember(std::string(verb) + " --help");
        INFO(result.output);
        REQUIRE(result.exit_code == 0);
        REQUIRE(result.output.find("usage: ember") != std::string::npos);
    }
    require_clean_failure(run_ember("frobnicate"), "unknown verb", 2);
    require_clean_failure(run_ember("info " + good_model() + " --bogus"), "unknown option --bogus", 2);
    require_clean_failure(run_ember("encode " + good_model() + " --features"), "needs a value", 2);
    require_clean_failure(run_ember("encode " + good_model() + " --out x.npy"), "--features", 2);
    for (const std::string& verb : {"transcribe " + good_model() + " x.wav", "eval " + good_model() + " --manifest x.tsv",
                                   "decode " + good_model() + " --features x.npy"}) {
        require_clean_failure(run_ember(verb + " --carry-predictor"), "--carry-predictor applies to --streaming only",
                              2);
        require_clean_failure(run_ember(verb + " --carry-beam"), "--carry-beam applies to --streaming only", 2);
        require_clean_failure(run_ember(verb + " --streaming --carry-beam --carry-predictor"), "give one", 2);
    }
    // bench always streams: the flags need no --streaming there, but still one of them.
    require_clean_failure(run_ember("bench " + good_model() + " --carry-beam --carry-predictor"), "give one", 2);
    require_clean_failure(run_ember("info /nonexistent/model.ember"), "No such file");
    require_clean_failure(run_ember("info " + scratch("")), "directory");
    require_clean_failure(run_ember(encode_args(good_model(), fixture(kCase + "/features.npy")).replace(
                              encode_args(good_model(), fixture(kCase + "/features.npy")).find("--out ") + 6,
                              std::string::npos, "/nonexistent/dir/out.npy")),
                          "/nonexistent/dir");
    require_clean_failure(run_ember("convert --checkpoint " + fixture(kCase + "/model.pt") + " --config " +
                                    fixture(kCase + "/config.json") + " -o " + scratch("")),
                          "directory");
}
