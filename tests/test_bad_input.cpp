// Hostile audio, flags and paths through `ember transcribe` and the other
// verbs: a sensible result or a clear one-line error with exit code 1 (2 for
// usage), never a crash, NaN text or a hang.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_support.h"

namespace {

using ember::test::CommandResult;
using ember::test::fixture;
using ember::test::scratch;

// `ember ARGS` with a time limit: a hang shows as exit code 124. `redirect`
// follows the capture of standard error (" >/dev/full": only standard output goes there).
CommandResult run_ember_limited(const std::string& args, int seconds = 60, const std::string& redirect = "") {
    CommandResult result;
    const std::string command =
        "timeout " + std::to_string(seconds) + " " + std::string(EMBER_BINARY) + " " + args + " 2>&1" + redirect;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return result;
    std::array<char, 4096> buffer;
    size_t n;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

// A tiny model with a character vocabulary (decoder/ln_1lstm, 19 KB).
const std::string& tiny_model() {
    static const std::string path = [] {
        const std::string out = scratch("bad_input_tiny.ember");
        const CommandResult result = run_ember_limited(
            "convert --checkpoint " + fixture("decoder/ln_1lstm/model.pt") + " --config " +
            fixture("decoder/ln_1lstm/config.json") + " --sentencepiece " +
            fixture("sentencepiece/char_no_bos_eos.model") + " -o " + out);
        if (result.exit_code != 0) FAIL("could not convert the fixture: " << result.output);
        return out;
    }();
    return path;
}

void put_u16(std::string& s, uint32_t v) { s += static_cast<char>(v & 0xff), s += static_cast<char>(v >> 8); }
void put_u32(std::string& s, uint32_t v) {
    for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}

// A RIFF/WAVE file: format 1 (PCM 16) or 3 (float 32); `data_size` overrides
// the data chunk's size field (a lying header).
std::string make_wav(int format, int channels, int rate, const std::vector<float>& interleaved,
                     int64_t data_size = -1) {
    std::string data;
    for (float x : interleaved) {
        if (format == 3) {
            uint32_t bits;
            std::memcpy(&bits, &x, 4);
            put_u32(data, bits);
        } else {
            const float c = std::fmax(-1.0f, std::fmin(1.0f, x));
            put_u16(data, static_cast<uint16_t>(static_cast<int16_t>(std::lrint(c * 32767.0f))));
        }
    }
    const int bytes = format == 3 ? 4 : 2;
    std::string s = "RIFF";
    put_u32(s, static_cast<uint32_t>(36 + data.size()));
    s += "WAVEfmt ";
    put_u32(s, 16);
    put_u16(s, static_cast<uint32_t>(format));
    put_u16(s, static_cast<uint32_t>(channels));
    put_u32(s, static_cast<uint32_t>(rate));
    put_u32(s, static_cast<uint32_t>(rate * channels * bytes));
    put_u16(s, static_cast<uint32_t>(channels * bytes));
    put_u16(s, static_cast<uint32_t>(8 * bytes));
    s += "data";
    put_u32(s, static_cast<uint32_t>(data_size >= 0 ? data_size : static_cast<int64_t>(data.size())));
    return s + data;
}

std::vector<float> noise(int64_t n, uint32_t seed, float amplitude = 0.3f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-amplitude, amplitude);
    std::vector<float> out(static_cast<size_t>(n));
    for (float& x : out) x = u(rng);
    return out;
}

std::string write_file(const std::string& name, const std::string& bytes) {
    const std::string path = scratch(name);
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
}

int count_lines(const std::string& s) {
    int lines = 0;
    for (char c : s) lines += c == '\n';
    return lines + (!s.empty() && s.back() != '\n');
}

// Either a transcript (exit 0, no "nan" anywhere) or one line of error from
// ember with exit code 1.
void require_sensible(const CommandResult& result) {
    INFO(result.output);
    REQUIRE((result.exit_code == 0 || result.exit_code == 1));
    if (result.exit_code == 1) {
        REQUIRE(result.output.rfind("ember", 0) == 0);
        REQUIRE(count_lines(result.output) == 1);
    } else {
        REQUIRE(result.output.find("nan") == std::string::npos);
        REQUIRE(result.output.find("NaN") == std::string::npos);
        REQUIRE(result.output.find("\"score\": inf") == std::string::npos);
    }
}

void require_error(const CommandResult& result, const std::string& needle, int code = 1) {
    INFO(result.output);
    REQUIRE(result.exit_code == code);
    REQUIRE(result.output.rfind("ember", 0) == 0);
    // One line naming the problem; a usage error may add "Try 'ember VERB --help'."
    const size_t first_end = result.output.find('\n');
    REQUIRE(result.output.substr(0, first_end).find(needle) != std::string::npos);
    if (code == 2 && count_lines(result.output) == 2)
        REQUIRE(result.output.substr(first_end + 1).rfind("Try 'ember", 0) == 0);
    else
        REQUIRE(count_lines(result.output) == 1);
}

void transcribe_both_ways(const std::string& wav, bool expect_success) {
    for (const char* mode : {"", " --streaming", " --json", " --streaming --json"}) {
        const CommandResult result = run_ember_limited("transcribe " + tiny_model() + " " + wav + mode);
        INFO("mode '" << mode << "'");
        require_sensible(result);
        if (expect_success) {
            INFO(result.output);
            REQUIRE(result.exit_code == 0);
        }
    }
}

// The verbs `ember --help` lists (two-space indent, then the name), so that a
// new verb is checked without being added here.
std::vector<std::string> listed_verbs() {
    const CommandResult help = run_ember_limited("--help");
    REQUIRE(help.exit_code == 0);
    std::vector<std::string> verbs;
    std::istringstream lines(help.output);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("  ", 0) == 0 && line.size() > 2 && line[2] != ' ')
            verbs.push_back(line.substr(2, line.find(' ', 2) - 2));
    return verbs;
}

}  // namespace

TEST_CASE("bad audio through ember transcribe: a result or a one-line error, never a crash", "[cli][bad_input]") {
    SECTION("empty file") {
        require_error(run_ember_limited("transcribe " + tiny_model() + " " + write_file("empty.wav", "")), "empty");
    }
    SECTION("a header and no samples") { transcribe_both_ways(write_file("none.wav", make_wav(1, 1, 16000, {})), false); }
    SECTION("one sample") { transcribe_both_ways(write_file("one.wav", make_wav(1, 1, 16000, {0.25f})), false); }
    SECTION("all zeros") {
        transcribe_both_ways(write_file("zeros.wav", make_wav(1, 1, 16000, std::vector<float>(32000, 0.0f))), true);
    }
    SECTION("NaN and Inf samples in a float WAV") {
        std::vector<float> x = noise(24000, 1);
        for (size_t i = 0; i < x.size(); i += 97) x[i] = std::numeric_limits<float>::quiet_NaN();
        for (size_t i = 50; i < x.size(); i += 89) x[i] = i % 2 ? std::numeric_limits<float>::infinity()
                                                                : -std::numeric_limits<float>::infinity();
        transcribe_both_ways(write_file("nonfinite.wav", make_wav(3, 1, 16000, x)), true);
        std::vector<float> all_nan(16000, std::numeric_limits<float>::quiet_NaN());
        transcribe_both_ways(write_file("all_nonfinite.wav", make_wav(3, 1, 16000, all_nan)), true);
    }
    SECTION("clipping: full-scale square wave and floats far beyond [-1, 1]") {
        std::vector<float> square(32000), loud = noise(32000, 2, 1000.0f);
        for (size_t i = 0; i < square.size(); ++i) square[i] = (i / 40) % 2 ? 1.0f : -1.0f;
        transcribe_both_ways(write_file("square.wav", make_wav(1, 1, 16000, square)), true);
        transcribe_both_ways(write_file("loud.wav", make_wav(3, 1, 16000, loud)), true);
    }
    SECTION("8 kHz and 48 kHz") {
        transcribe_both_ways(write_file("8k.wav", make_wav(1, 1, 8000, noise(16000, 3))), true);
        transcribe_both_ways(write_file("48k.wav", make_wav(1, 1, 48000, noise(96000, 4))), true);
    }
    SECTION("6 channels") {
        transcribe_both_ways(write_file("6ch.wav", make_wav(1, 6, 16000, noise(6 * 24000, 5))), true);
    }
    SECTION("a data length that lies") {
        const std::vector<float> x = noise(24000, 6);
        // Longer than the file: the frames that are there are read.
        transcribe_both_ways(write_file("lie_long.wav", make_wav(1, 1, 16000, x, 1u << 30)), true);
        // 0xFFFFFFFF (streamed): likewise.
        transcribe_both_ways(write_file("lie_streamed.wav", make_wav(1, 1, 16000, x, 0xFFFFFFFFu)), true);
        // Cut short is worth a warning (with the result); streamed is not.
        const std::string args = "transcribe " + tiny_model() + " " + scratch("lie_long.wav");
        const CommandResult cut = run_ember_limited(args);
        INFO(cut.output);
        REQUIRE(cut.exit_code == 0);
        REQUIRE(cut.output.find("ember: warning: " + scratch("lie_long.wav") + ": the WAV data chunk runs") !=
                std::string::npos);
        REQUIRE(cut.output.find("reading the 1.50 s that are there") != std::string::npos);
        const CommandResult streamed = run_ember_limited(
            "transcribe " + tiny_model() + " " + scratch("lie_streamed.wav") + " --streaming");
        REQUIRE(streamed.output.find("warning") == std::string::npos);
        // Shorter than the data and odd: reading stops at the stated size.
        transcribe_both_ways(write_file("lie_short.wav", make_wav(1, 1, 16000, x, 1001)), false);
        // Zero.
        transcribe_both_ways(write_file("lie_zero.wav", make_wav(1, 1, 16000, x, 0)), false);
    }
}

TEST_CASE("every verb: --help exits 0, unknown flags exit 2", "[cli][bad_input]") {
    const std::vector<std::string> verbs = listed_verbs();
    REQUIRE(verbs.size() >= 7);
    for (const std::string& verb : verbs) {
        INFO(verb);
        for (const char* help_flag : {" --help", " -h"}) {
            const CommandResult help = run_ember_limited(verb + help_flag);
            INFO(help.output);
            REQUIRE(help.exit_code == 0);
            REQUIRE(help.output.find("usage: ember " + verb) != std::string::npos);
        }
        require_error(run_ember_limited(verb + " --no-such-flag"), "--no-such-flag", 2);
    }
}

TEST_CASE("missing input files: a one-line error naming the file, exit 1", "[cli][bad_input]") {
    const std::string model = tiny_model();
    const std::string wav = write_file("missing_ok.wav", make_wav(1, 1, 16000, noise(16000, 8)));
    const std::string features = fixture("decoder/ln_1lstm/features.npy");
    const std::string checkpoint = fixture("decoder/ln_1lstm/model.pt");
    const std::string config = fixture("decoder/ln_1lstm/config.json");
    const std::string missing = scratch("no_such_file");
    const std::string out = " --out " + scratch("missing_out.npy");
    const std::string convert = "convert -o " + scratch("missing.ember");

    for (const std::string& args : {
             "info " + missing,
             "transcribe " + missing + " " + wav,
             "transcribe " + model + " " + missing,
             "encode " + missing + " --features " + features + out,
             "encode " + model + " --features " + missing + out,
             "decode " + missing + " --features " + features,
             "decode " + model + " --features " + missing,
             "features " + missing + " --audio " + wav + out,
             "features " + model + " --audio " + missing + out,
             convert + " --checkpoint " + missing + " --config " + config,
             convert + " --checkpoint " + checkpoint + " --config " + missing,
             convert + " --checkpoint " + checkpoint + " --config " + config + " --sentencepiece " + missing,
             convert + " --checkpoint " + checkpoint + " --config " + config + " --global-stats " + missing,
             "bench " + missing,
             "bench " + model + " --features " + missing,
         }) {
        INFO("ember " << args);
        require_error(run_ember_limited(args), missing);
    }
}

// A full disk on standard output: the error is reported, not lost (a
// transcript cut short must not look like success).
TEST_CASE("standard output that cannot be written: a one-line error, exit 1", "[cli][bad_input]") {
    const std::string wav = write_file("full_ok.wav", make_wav(1, 1, 16000, noise(16000, 9)));
    for (const std::string& args : {"transcribe " + tiny_model() + " " + wav,
                                    "transcribe " + tiny_model() + " " + wav + " --json",
                                    "decode " + tiny_model() + " --features " + fixture("decoder/ln_1lstm/features.npy"),
                                    "info " + tiny_model()}) {
        INFO("ember " << args << " >/dev/full");
        require_error(run_ember_limited(args, 60, " >/dev/full"), "standard output");
    }
}

TEST_CASE("directories where files belong and unwritable outputs: one-line errors, exit 1", "[cli][bad_input]") {
    const std::string model = tiny_model();
    const std::string wav = write_file("paths_ok.wav", make_wav(1, 1, 16000, noise(16000, 7)));
    const std::string features = fixture("decoder/ln_1lstm/features.npy");
    const std::string dir = scratch("");
    // A regular file used as a directory: no root privilege writes through it.
    const std::string not_a_dir = write_file("plain_file", "x") + "/out.npy";

    require_error(run_ember_limited("transcribe " + dir + " " + wav), "directory");
    require_error(run_ember_limited("transcribe " + model + " " + dir), "directory");
    require_error(run_ember_limited("info " + dir), "directory");
    require_error(run_ember_limited("features " + model + " --audio " + dir + " --out " + scratch("f.npy")),
                  "directory");
    require_error(run_ember_limited("features " + model + " --audio " + wav + " --out " + dir), "directory");
    require_error(run_ember_limited("features " + model + " --audio " + wav + " --out " + not_a_dir), "plain_file");
    require_error(run_ember_limited("encode " + model + " --features " + dir + " --out " + scratch("e.npy")),
                  "directory");
    require_error(run_ember_limited("encode " + model + " --features " + features + " --out " + not_a_dir),
                  "plain_file");
    require_error(run_ember_limited("decode " + model + " --features " + dir), "directory");
    require_error(run_ember_limited("bench " + dir), "directory");
    require_error(run_ember_limited("bench " + model + " --features " + dir), "directory");
    require_error(run_ember_limited("convert --checkpoint " + dir + " --config " +
                                    fixture("decoder/ln_1lstm/config.json") + " -o " + scratch("c.ember")),
                  "directory");
    require_error(run_ember_limited("convert --checkpoint " + fixture("decoder/ln_1lstm/model.pt") + " --config " +
                                    fixture("decoder/ln_1lstm/config.json") + " -o " + not_a_dir),
                  "plain_file");
}

// tests/fixtures/nonfinite/*.pt: decoder/ln_1lstm's state_dict with
// joiner.linear.weight[1, 2] = nan, or predictor.input_layer_norm.bias[0] = inf
// (torch.load, edit, torch.save). `ember convert` refuses them; load does not
// scan (it would touch every page of the mapping: ~1 s for the base model).
TEST_CASE("ember convert refuses NaN and Inf weights, naming the tensor", "[cli][bad_input][convert]") {
    const std::string config = fixture("decoder/ln_1lstm/config.json");
    require_error(run_ember_limited("convert --checkpoint " + fixture("nonfinite/nan_joiner_weight.pt") +
                                    " --config " + config + " -o " + scratch("nan.ember")),
                  "joiner.linear.weight holds nan at flat index 18");
    require_error(run_ember_limited("convert --checkpoint " + fixture("nonfinite/inf_weight.pt") + " --config " +
                                    config + " -o " + scratch("inf.ember")),
                  "predictor.input_layer_norm.bias holds inf at flat index 0");
    std::ifstream leftover(scratch("nan.ember"));
    REQUIRE(!leftover);
}
