// ember transcribe: audio files (or raw PCM on standard input) -> text, as
// torchaudio's RNNTBundle pipeline would give it.
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/raw_pcm.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "model/recognizer.h"
#include "tools/cli.h"
#include "tools/recognize_file.h"
#include "tools/verbs.h"

namespace ember::verbs {

namespace {

const char* kUsage =
    "usage: ember transcribe MODEL.ember AUDIO... [--streaming] [--beam K] [--threads N] [--json]\n"
    "                        [--temperature T] [--step-max-tokens N] [--carry-predictor | --carry-beam]\n"
    "                        [--raw-rate R] [--raw-format F]\n\n"
    "Transcribes WAV files (any PCM or float encoding, channels averaged, resampled to the\n"
    "model's rate), or raw PCM from standard input when AUDIO is '-':\n"
    "    sox speech.wav -t raw -r 16000 -e signed -b 16 -c 1 - | ember transcribe MODEL - --streaming\n\n"
    "  --streaming          recognize chunk by chunk as the pipeline's streaming loop (results\n"
    "                       as the audio arrives); default: the whole file at once\n"
    "  --beam K             beam width (default 10; 1 is greedy)\n"
    "  --threads N          cores to use (default 1): files transcribed side by side, output in\n"
    "                       input order; a single input splits its matrix products across them\n"
    "  --json               one JSON object per line: the text, each token with its time in\n"
    "                       seconds, the score; with --streaming also a line per chunk\n"
    "  --temperature T      joiner temperature (default 1.0)\n"
    "  --step-max-tokens N  tokens per encoder frame at most (default 100)\n"
    EMBER_CARRY_PREDICTOR_HELP
    "  --raw-rate R         sample rate of raw standard input (default: the model's)\n"
    "  --raw-format F       s16le (default) or f32le, mono, for raw standard input\n";

// Output of one input, line by line; `emit` receives each line when it is ready.
struct Output {
    std::vector<std::string> lines;
    std::string error;
};

std::string final_line(const Model& model, const std::string& name, const RecognitionResult& r, bool json) {
    if (!json) return r.text;
    std::string line = "{\"file\": " + cli::json_quote(name) + ", \"text\": " + cli::json_quote(r.text) +
                       ", \"score\": " + std::to_string(r.score) + ", \"tokens\": [";
    for (size_t i = 0; i < r.tokens.size(); ++i) {
        const int64_t id = r.tokens[i];
        const std::vector<std::string>& pieces = model.metadata.vocabulary;
        const std::string piece = id >= 0 && id < static_cast<int64_t>(pieces.size()) ? pieces[size_t(id)] : "";
        char time[32];
        std::snprintf(time, sizeof time, "%.2f", r.times[i]);
        line += std::string(i ? ", " : "") + "{\"id\": " + std::to_string(id) + ", \"piece\": " + cli::json_quote(piece) +
                ", \"time\": " + time + "}";
    }
    return line + "]}";
}

// With JSON streaming output, a partial line per decoded chunk.
template <class Emit>
tools::AfterChunk partial_lines(const std::string& name, bool json, Emit& emit) {
    if (!json) return nullptr;
    return [&emit, name](const Stream& stream) {
        emit("{\"file\": " + cli::json_quote(name) + ", \"chunk\": " + std::to_string(stream.chunks - 1) +
             ", \"partial\": " + cli::json_quote(stream.current.text) + "}");
    };
}

Output transcribe_file(const Recognizer& recognizer, const std::string& path, bool json) {
    Output output;
    auto emit = [&output](const std::string& line) { output.lines.push_back(line); };
    try {
        const RecognitionResult final = tools::recognize_wav_file(recognizer, path, partial_lines(path, json, emit));
        emit(final_line(*recognizer.model, path, final, json));
    } catch (const std::exception& error) {
        output.error = error.what();
    }
    return output;
}

// Raw PCM from standard input, printed as it is recognized.
int transcribe_stdin(const Recognizer& recognizer, RawFormat format, int64_t rate, bool json) {
    const bool show_partial = !json && recognizer.options.streaming && isatty(STDERR_FILENO);
    auto emit = [](const std::string& line) {
        std::printf("%s\n", line.c_str());
        std::fflush(stdout);
    };
    Stream stream = make_stream(recognizer);
    RawPcmDecoder decoder = make_raw_pcm_decoder(format, "standard input");
    std::vector<uint8_t> bytes(1 << 14);
    std::vector<float> samples;
    size_t n;
    while ((n = std::fread(bytes.data(), 1, bytes.size(), stdin)) > 0) {
        samples.clear();
        raw_pcm_accept(decoder, bytes.data(), n, samples);
        const int64_t chunks = stream.chunks;
        tools::feed_samples(stream, samples.data(), static_cast<int64_t>(samples.size()), rate,
                            partial_lines("-", json, emit));
        if (show_partial && stream.chunks != chunks) std::fprintf(stderr, "\r%s", stream.current.text.c_str());
    }
    if (std::ferror(stdin)) fail("standard input: read error");
    raw_pcm_finish(decoder);
    if (show_partial) std::fprintf(stderr, "\r\033[K");
    emit(final_line(*recognizer.model, "-", tools::finish_stream(stream), json));
    return 0;
}

}  // namespace

int transcribe(const Args& args) {
    const cli::ParsedArgs parsed = cli::parse_args(
        args, {{"--streaming", false}, {"--beam"}, {"--threads"}, {"--json", false}, {"--temperature"},
               {"--step-max-tokens"}, {"--carry-predictor", false}, {"--carry-beam", false}, {"--raw-rate"},
               {"--raw-format"}});
    if (parsed.help) {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (parsed.positionals.size() < 2) throw cli::UsageError("expected MODEL.ember and at least one AUDIO");
    RecognizerOptions options;
    options.streaming = parsed.has("--streaming");
    options.search.beam = parsed.integer("--beam", 10, 1, 1 << 20);
    options.search.temperature = static_cast<float>(parsed.number("--temperature", 1.0, 1e-6, 1e6));
    options.search.step_max_tokens = parsed.integer("--step-max-tokens", 100, 0, 1 << 20);
    options.search.carry_predictor = cli::carry_predictor(parsed);
    options.search.carry_beam = cli::carry_beam(parsed);
    const int64_t threads = parsed.integer("--threads", 1, 1, 256);
    const bool json = parsed.has("--json");
    const std::vector<std::string> inputs(parsed.positionals.begin() + 1, parsed.positionals.end());
    const bool from_stdin = inputs.size() == 1 && inputs[0] == "-";
    for (const std::string& input : inputs)
        if (input == "-" && !from_stdin) throw cli::UsageError("'-' (standard input) must be the only AUDIO");
    const RawFormat raw_format = parse_raw_format(parsed.optional("--raw-format").value_or("s16le"));

    // One input: every core on its matrix products. Several: inputs side by
    // side, each on one core (the kernels' pool serves one caller at a time).
    kernels::set_num_threads(static_cast<int>(inputs.size() == 1 || from_stdin ? threads : 1));
    cli::check_input_file(parsed.positionals[0]);
    const Model model = load_model(parsed.positionals[0]);
    const Recognizer recognizer = make_recognizer(model, options);
    if (from_stdin)
        return transcribe_stdin(recognizer, raw_format,
                                parsed.integer("--raw-rate", model.metadata.front_end.sample_rate, 1, 1000000), json);

    // Files in parallel; each printed, in input order, once it and those before it are done.
    std::vector<Output> outputs(inputs.size());
    std::vector<char> done(inputs.size(), 0);
    std::mutex mutex;
    std::condition_variable finished;
    std::atomic<size_t> next{0};
    auto worker = [&] {
        for (size_t i; (i = next.fetch_add(1)) < inputs.size();) {
            Output output = transcribe_file(recognizer, inputs[i], json);
            std::lock_guard<std::mutex> lock(mutex);
            outputs[i] = std::move(output);
            done[i] = 1;
            finished.notify_all();
        }
    };
    std::vector<std::thread> pool;
    for (int64_t t = 0; t < std::min<int64_t>(threads, static_cast<int64_t>(inputs.size())); ++t) pool.emplace_back(worker);
    int exit_code = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
        std::unique_lock<std::mutex> lock(mutex);
        finished.wait(lock, [&] { return done[i] != 0; });
        for (const std::string& line : outputs[i].lines) std::printf("%s\n", line.c_str());
        std::fflush(stdout);
        if (!outputs[i].error.empty()) {
            std::fprintf(stderr, "ember transcribe: error: %s\n", outputs[i].error.c_str());
            exit_code = 1;
        }
    }
    for (std::thread& thread : pool) thread.join();
    return exit_code;
}

}  // namespace ember::verbs
