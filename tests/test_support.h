// Helpers shared by the Catch2 tests: paths and running the `ember` binary.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "model/model.h"

namespace ember::test {

// A committed fixture (tests/fixtures/NAME).
inline std::string fixture(const std::string& name) { return std::string(EMBER_TEST_DATA) + "/" + name; }
// A path in this process's own scratch directory in the build tree: ctest runs
// test cases as separate processes side by side, so they must not share files.
// scratch("") is the directory itself.
std::string scratch(const std::string& name);

struct CommandResult {
    int exit_code = -1;
    std::string output;  // standard output and standard error together
};

// Runs `ember ARGS` through the shell, capturing its output. Arguments are
// passed as one string; quote paths that may hold spaces.
CommandResult run_ember(const std::string& args);

// The case directories of tests/fixtures/KIND (decoder, transcriber,
// front_end), sorted.
std::vector<std::string> fixture_cases(const std::string& kind);

// `ember convert` of a fixture case directory's model.pt and config.json,
// with `flags` added, into `out` (returned); throws with ember's output if it
// fails.
std::string convert_fixture_case(const std::string& case_dir, const std::string& out, const std::string& flags = "");

// Converts tests/fixtures/transcriber/<name>/model.pt with `ember convert`
// into the scratch directory and loads the result.
ember::Model convert_and_load_fixture(const std::string& name);

// Converts tests/fixtures/decoder/<name>/model.pt with the character
// SentencePiece model (sentencepiece/char_no_bos_eos.model) as its
// vocabulary into the scratch directory; returns the .ember path.
std::string convert_decoder_fixture(const std::string& name);
// The same, loaded.
ember::Model convert_and_load_decoder_fixture(const std::string& name);

// Band-limited noise in [-1, 1], different per seed: white noise through a
// one-pole low-pass whose cutoff and gain depend on the seed, with a slow
// tremolo.
std::vector<float> synth_audio(uint32_t seed, int64_t samples);

// A linear layer's weight (out_features, in_features) in rows, whichever
// layout the model file holds it in.
std::vector<float> row_major_weight(const ember::LinearWeights& w);

// The tensors of `file` as write_ember_file takes them: row-major data
// (packed ones unpacked into `storage`), each with its layout in the file.
std::vector<ember::TensorToWrite> tensors_to_rewrite(const ember::EmberFile& file,
                                                     std::deque<std::vector<float>>& storage);

}  // namespace ember::test
