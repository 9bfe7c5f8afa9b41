#include "tests/test_support.h"

#include "kernels/kernels.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
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

std::vector<std::string> fixture_cases(const std::string& kind) {
    std::vector<std::string> cases;
    for (const auto& entry : std::filesystem::directory_iterator(fixture(kind)))
        if (entry.is_directory()) cases.push_back(entry.path().string());
    std::sort(cases.begin(), cases.end());
    return cases;
}

std::string convert_fixture_case(const std::string& case_dir, const std::string& out, const std::string& flags) {
    const CommandResult result = run_ember("convert --checkpoint '" + case_dir + "/model.pt' --config '" + case_dir +
                                           "/config.json' -o '" + out + "'" + flags);
    if (result.exit_code != 0) throw std::runtime_error("converting fixture " + case_dir + " failed: " + result.output);
    return out;
}

ember::Model convert_and_load_fixture(const std::string& name) {
    return ember::load_model(
        convert_fixture_case(fixture("transcriber/" + name), scratch("fixture_" + name + ".ember")));
}

std::string convert_decoder_fixture(const std::string& name) {
    return convert_fixture_case(fixture("decoder/" + name), scratch("decoder_" + name + ".ember"),
                                " --sentencepiece '" + fixture("sentencepiece/char_no_bos_eos.model") + "'");
}

ember::Model convert_and_load_decoder_fixture(const std::string& name) {
    return ember::load_model(convert_decoder_fixture(name));
}

std::vector<float> synth_audio(uint32_t seed, int64_t samples) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> noise(0.0f, 1.0f);
    const float pole = 0.5f + 0.45f * static_cast<float>(seed % 7) / 6.0f;
    const float gain = 0.05f + 0.02f * static_cast<float>(seed % 5);
    std::vector<float> out(static_cast<size_t>(samples));
    float y = 0.0f;
    for (int64_t i = 0; i < samples; ++i) {
        y = pole * y + (1.0f - pole) * noise(rng);
        const float tremolo = 0.6f + 0.4f * std::sin(static_cast<float>(i) * (1e-3f + 1e-4f * seed));
        out[static_cast<size_t>(i)] = std::fmax(-1.0f, std::fmin(1.0f, 4.0f * gain * tremolo * y));
    }
    return out;
}

namespace {

std::vector<float> unpack(const float* packed, int64_t N, int64_t K) {
    constexpr int64_t P = kernels::kPanelWidth;
    std::vector<float> rows(static_cast<size_t>(N * K));
    for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) rows[static_cast<size_t>(n * K + k)] = packed[(n / P) * K * P + k * P + n % P];
    return rows;
}

}  // namespace

std::vector<float> row_major_weight(const ember::LinearWeights& w) {
    if (w.packed) return unpack(w.weight, w.out_features, w.in_features);
    return std::vector<float>(w.weight, w.weight + w.out_features * w.in_features);
}

std::vector<ember::TensorToWrite> tensors_to_rewrite(const ember::EmberFile& file,
                                                     std::deque<std::vector<float>>& storage) {
    std::vector<ember::TensorToWrite> tensors;
    for (const ember::TensorInfo& t : file.tensors) {
        const float* rows = t.data;
        if (t.layout == ember::TensorLayout::float32_panels16) {
            storage.push_back(unpack(t.data, t.shape[0], t.shape[1]));
            rows = storage.back().data();
        }
        tensors.push_back({t.name, t.shape, rows, t.layout});
    }
    return tensors;
}

}  // namespace ember::test
