// Helpers shared by the Catch2 tests: paths and running the `ember` binary.
#pragma once

#include <string>

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

// Converts tests/fixtures/transcriber/<name>/model.pt with `ember convert`
// into the scratch directory and loads the result.
ember::Model convert_and_load_fixture(const std::string& name);

}  // namespace ember::test
