// Helpers shared by the Catch2 tests: paths and running the `ember` binary.
#pragma once

#include <string>

#include "model/model.h"

namespace ember::test {

// Directory of committed fixtures (tests/fixtures) and a scratch directory in the build tree.
inline std::string fixture(const std::string& name) { return std::string(EMBER_TEST_DATA) + "/" + name; }
inline std::string scratch(const std::string& name) { return std::string(EMBER_TEST_SCRATCH) + "/" + name; }

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
