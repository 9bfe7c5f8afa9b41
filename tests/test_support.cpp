#include "tests/test_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <cstdio>
#include <stdexcept>

namespace ember::test {

std::string scratch(const std::string& name) {
    static const std::string directory = [] {
        const std::string path = std::string(EMBER_TEST_SCRATCH) + "/" + std::to_string(getpid());
        std::filesystem::create_directories(path);
        return path;
    }();
    return directory + "/" + name;
}

CommandResult run_ember(const std::string& args) {
    CommandResult result;
    std::string command = std::string(EMBER_BINARY) + " " + args + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return result;
    std::array<char, 4096> buffer;
    size_t n;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
    int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

ember::Model convert_and_load_fixture(const std::string& name) {
    const std::string out = scratch("fixture_" + name + ".ember");
    const CommandResult result = run_ember("convert --checkpoint " + fixture("transcriber/" + name + "/model.pt") +
                                           " --config " + fixture("transcriber/" + name + "/config.json") + " -o " +
                                           out);
    if (result.exit_code != 0) throw std::runtime_error("converting fixture " + name + " failed: " + result.output);
    return ember::load_model(out);
}

}  // namespace ember::test
