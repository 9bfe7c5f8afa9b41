// ember bench: how fast a model runs on this machine -- load time, streaming
// and non-streaming real-time factors per beam, the front end, streams per
// core, peak memory -- on random features generated in-process (no audio).
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/npy.h"
#include "kernels/kernels.h"
#include "model/beam_search.h"
#include "model/front_end.h"
#include "model/model.h"
#include "model/transcriber.h"
#include "tools/cli.h"
#include "tools/features_input.h"
#include "tools/verbs.h"

namespace ember::verbs {

namespace {

const char* kUsage =
    "usage: ember bench MODEL.ember [--seconds S] [--beam K ...] [--threads N] [--features IN.npy]\n"
    "                   [--seed N] [--json]\n\n"
    "Measures the model on this machine: load time (mmap + validation), the front end, streaming\n"
    "(per 160 ms chunk for the base model: encoder alone, then encoder + beam search per beam),\n"
    "non-streaming (encoder over the whole input, then the search), streams per core and peak RSS.\n"
    "The input is S seconds of standard-normal features made in-process (no audio needed).\n"
    "Times are given as thread CPU time, then wall time: on a busy machine wall time also counts\n"
    "time other processes held the core. RTF = compute time / audio time.\n\n"
    "  --seconds S        seconds of input (default 30)\n"
    "  --beam K           beam width; repeat it or give a list (default 1,4,10; 1 is greedy)\n"
    "  --threads N        also run N streams at once, one per thread, first beam (default 1)\n"
    "  --features IN.npy  use these float32 features (T, input_dim) instead of random ones; the\n"
    "                     last right_context_length frames are the right context\n"
    "  --seed N           seed of the random features (default 1)\n"
    "  --json             one JSON object on standard output, milliseconds unless named otherwise\n";

// Wall and thread CPU time, in seconds.
struct Times {
    double wall = 0.0, cpu = 0.0;
    Times& operator+=(const Times& o) {
        wall += o.wall;
        cpu += o.cpu;
        return *this;
    }
};

Times now() {
    timespec cpu{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    return {wall, static_cast<double>(cpu.tv_sec) + 1e-9 * static_cast<double>(cpu.tv_nsec)};
}
Times since(const Times& start) {
    const Times t = now();
    return {t.wall - start.wall, t.cpu - start.cpu};
}

double median(std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Per-chunk times of one streaming run, in seconds.
struct Series {
    std::vector<double> wall, cpu;
    void add(const Times& t) {
        wall.push_back(t.wall);
        cpu.push_back(t.cpu);
    }
    Times total() const {
        Times t;
        for (size_t i = 0; i < wall.size(); ++i) t += {wall[i], cpu[i]};
        return t;
    }
    Times median_of() const { return {median(wall), median(cpu)}; }
};

struct StreamingRun {
    int64_t beam = 0;  // 0: encoder only
    Series encoder, search, chunk;
    int64_t tokens = 0;  // the best path's emitted tokens
};

struct WholeRun {
    int64_t beam = 0;
    Times search;
    int64_t tokens = 0;
};

// The streaming loop of `ember decode --streaming`, timed per chunk; beam 0
// runs the transcriber alone.
StreamingRun run_streaming(const Model& model, const NpyArray& features, int64_t beam, cli::Progress* progress) {
    const EmformerRnntConfig& c = model.config();
    StreamingRun run;
    run.beam = beam;
    TranscriberStream stream = make_transcriber_stream(model);
    SearchOptions options;
    options.beam = std::max<int64_t>(beam, 1);
    Decoder decoder = make_decoder(model, options);
    const int64_t frames = chunk_input_frames(c), rows = chunk_output_rows(c);
    const int64_t chunks = streaming_chunk_count(features, c);
    std::vector<float> chunk, encoded(static_cast<size_t>(rows * c.encoding_dim));
    const Tensor encoder_out{encoded.data(), rows, c.encoding_dim, c.encoding_dim};
    std::vector<Hypothesis> hypotheses;
    for (int64_t k = 0; k < chunks; ++k) {
        fill_chunk(features, c, k, chunk);
        const Times start = now();
        transcribe_chunk(stream, {chunk.data(), frames, c.input_dim, c.input_dim}, encoder_out);
        const Times encoded_at = since(start);
        run.encoder.add(encoded_at);
        if (beam > 0) {
            hypotheses = search(decoder, encoder_out, hypotheses.empty() ? nullptr : &hypotheses.front());
            const Times total = since(start);
            run.search.add({total.wall - encoded_at.wall, total.cpu - encoded_at.cpu});
            run.chunk.add(total);
            run.tokens += static_cast<int64_t>(hypotheses.front().tokens.size()) - 1;
        } else {
            run.chunk.add(encoded_at);
        }
        if (progress) progress->update(static_cast<double>(k + 1) / static_cast<double>(chunks));
    }
    return run;
}

// N streams at once, one per thread: the wall time of each whole stream.
std::vector<double> run_concurrent(const Model& model, const NpyArray& features, int64_t beam, int64_t threads) {
    std::vector<double> wall(static_cast<size_t>(threads));
    std::vector<std::thread> workers;
    for (int64_t i = 0; i < threads; ++i)
        workers.emplace_back([&, i] { wall[static_cast<size_t>(i)] = run_streaming(model, features, beam, nullptr).chunk.total().wall; });
    for (std::thread& worker : workers) worker.join();
    return wall;
}

// Peak resident set of this process: VmHWM from /proc/self/status. Not
// getrusage's ru_maxrss, which Linux carries across execve: a parent's
// footprint at fork time (a Python script holding a torch model, say) would
// show up as ours.
double peak_rss_bytes() {
    if (FILE* status = std::fopen("/proc/self/status", "r")) {
        char line[256];
        long long kib = -1;
        while (std::fgets(line, sizeof line, status))
            if (std::sscanf(line, "VmHWM: %lld kB", &kib) == 1) break;
        std::fclose(status);
        if (kib >= 0) return static_cast<double>(kib) * 1024.0;
    }
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) * 1024.0;  // KiB on Linux
}

NpyArray random_features(const EmformerRnntConfig& c, int64_t frames, unsigned seed) {
    NpyArray features;
    features.shape = {frames, c.input_dim};
    features.values.resize(static_cast<size_t>(frames * c.input_dim));
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (float& x : features.values) x = normal(rng);
    return features;
}

// "name": {"wall": .., "cpu": ..} in milliseconds.
std::string json_times(const char* name, const Times& t) {
    char text[160];
    std::snprintf(text, sizeof text, "\"%s\": {\"wall\": %.4f, \"cpu\": %.4f}", name, 1e3 * t.wall, 1e3 * t.cpu);
    return text;
}

// Beams from every --beam K (repeatable, or a comma list); the other arguments are returned.
Args take_beams(const Args& args, std::vector<int64_t>& beams) {
    Args rest;
    for (size_t i = 0; i < args.size(); ++i) {
        std::string list;
        if (args[i] == "--beam") {
            if (i + 1 >= args.size()) throw cli::UsageError("option --beam needs a value");
            list = args[++i];
        } else if (args[i].rfind("--beam=", 0) == 0) {
            list = args[i].substr(7);
        } else {
            rest.push_back(args[i]);
            continue;
        }
        std::stringstream items(list);
        for (std::string item; std::getline(items, item, ',');) {
            char* end = nullptr;
            const long long beam = std::strtoll(item.c_str(), &end, 10);
            if (item.empty() || *end != '\0' || beam < 1 || beam > (1 << 20))
                throw cli::UsageError("--beam: expected integers from 1, got '" + list + "'");
            beams.push_back(beam);
        }
    }
    return rest;
}

}  // namespace

int bench(const Args& all_args) {
    std::vector<int64_t> beams;
    const cli::ParsedArgs parsed = cli::parse_args(
        take_beams(all_args, beams), {{"--seconds"}, {"--threads"}, {"--features"}, {"--seed"}, {"--json", false}});
    if (parsed.help) {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (parsed.positionals.size() != 1) throw cli::UsageError("expected one MODEL.ember argument");
    if (beams.empty()) beams = {1, 4, 10};
    const std::string model_path = parsed.positionals[0];
    const double seconds = parsed.number("--seconds", 30.0, 0.5, 36000.0);
    const int64_t threads = parsed.integer("--threads", 1, 1, 1024);
    const unsigned seed = static_cast<unsigned>(parsed.integer("--seed", 1, 0, 1u << 31));
    const bool json = parsed.has("--json");
    cli::check_input_file(model_path);
    if (parsed.has("--features")) cli::check_input_file(parsed.required("--features"));

    // Load: mmap + validation of metadata and every tensor; median of three.
    std::vector<double> loads;
    for (int i = 0; i < 3; ++i) {
        const Times start = now();
        const Model probe = load_model(model_path);
        loads.push_back(since(start).wall);
    }
    const Model model = load_model(model_path);
    const EmformerRnntConfig& c = model.config();
    for (int64_t beam : beams) check_search_options(model.metadata, {beam, 1.0f, 100});
    struct stat file_info{};
    stat(model_path.c_str(), &file_info);
    const double file_bytes = static_cast<double>(file_info.st_size);

    const FrontEndConfig& fe = model.metadata.front_end;
    const double frame_seconds = static_cast<double>(fe.hop_length) / static_cast<double>(fe.sample_rate);
    NpyArray features =
        parsed.has("--features") ? read_features(parsed.required("--features"), c)
                                 : random_features(c, std::llround(seconds / frame_seconds) + c.right_context_length,
                                                   seed);
    const int64_t T = features.shape[0];
    const double audio_seconds = static_cast<double>(T - c.right_context_length) * frame_seconds;
    const double chunk_seconds = static_cast<double>(c.segment_length) * frame_seconds;
    const int64_t chunks = streaming_chunk_count(features, c);
    const int64_t whole_rows = checked_output_rows(features, c, "features");

    // Front end on noise of the same length.
    Times front_end_time;
    if (model.metadata.has_front_end) {
        std::vector<float> noise(static_cast<size_t>(audio_seconds * static_cast<double>(fe.sample_rate)));
        std::mt19937 rng(seed);
        std::uniform_real_distribution<float> uniform(-0.1f, 0.1f);
        for (float& x : noise) x = uniform(rng);
        FrontEnd front_end = make_front_end(fe);
        std::vector<float> out(static_cast<size_t>(feature_frames(fe, static_cast<int64_t>(noise.size())) * fe.n_mels));
        const Times start = now();
        compute_features(front_end, noise.data(), static_cast<int64_t>(noise.size()), out.data());
        front_end_time = since(start);
    }

    // Streaming: the encoder alone (its first chunk also pages the weights in), then per beam.
    std::vector<StreamingRun> streaming;
    {
        cli::Progress progress("streaming, encoder only");
        streaming.push_back(run_streaming(model, features, 0, json ? nullptr : &progress));
        progress.finish();
    }
    for (int64_t beam : beams) {
        cli::Progress progress("streaming, beam " + std::to_string(beam));
        streaming.push_back(run_streaming(model, features, beam, json ? nullptr : &progress));
        progress.finish();
    }
    const double streaming_rss = peak_rss_bytes();

    std::vector<double> concurrent;
    if (threads > 1) concurrent = run_concurrent(model, features, beams.front(), threads);

    // Non-streaming: the encoder over everything once, then each beam's search.
    std::vector<float> encoded(static_cast<size_t>(whole_rows * c.encoding_dim));
    const Tensor encoder_out{encoded.data(), whole_rows, c.encoding_dim, c.encoding_dim};
    Times whole_encoder;
    {
        const Times start = now();
        transcribe(model, {features.values.data(), T, c.input_dim, c.input_dim}, encoder_out);
        whole_encoder = since(start);
    }
    std::vector<WholeRun> whole;
    for (int64_t beam : beams) {
        SearchOptions options;
        options.beam = beam;
        Decoder decoder = make_decoder(model, options);
        const Times start = now();
        const std::vector<Hypothesis> hypotheses = search(decoder, encoder_out, nullptr);
        whole.push_back({beam, since(start), static_cast<int64_t>(hypotheses.front().tokens.size()) - 1});
    }
    const double peak_rss = peak_rss_bytes();

    const int64_t frames_out = chunks * chunk_output_rows(c);
    const double MB = 1e6, load = median(loads);
    if (json) {
        std::printf("{\"model\": %s, \"file_bytes\": %.0f, \"isa\": \"%s\", \"audio_seconds\": %.4f, ", cli::json_quote(model_path).c_str(),
                    file_bytes, kernels::isa_name(kernels::active_isa()), audio_seconds);
        std::printf("\"chunks\": %lld, \"chunk_seconds\": %.4f, \"encoder_frames\": %lld, ",
                    static_cast<long long>(chunks), chunk_seconds, static_cast<long long>(frames_out));
        std::printf("\"load_ms\": %.4f, \"load_ms_all\": [%.4f, %.4f, %.4f], %s, ", 1e3 * load, 1e3 * loads[0],
                    1e3 * loads[1], 1e3 * loads[2], json_times("front_end", front_end_time).c_str());
        std::printf("\"streaming\": [");
        for (size_t i = 0; i < streaming.size(); ++i) {
            const StreamingRun& r = streaming[i];
            const Times total = r.chunk.total();
            std::printf("%s{\"beam\": %lld, \"tokens\": %lld, %s, %s, %s, %s, %s, \"first_chunk_ms\": %.4f, "
                        "\"rtf\": {\"wall\": %.6f, \"cpu\": %.6f}}",
                        i ? ", " : "", static_cast<long long>(r.beam), static_cast<long long>(r.tokens),
                        json_times("encoder_median", r.encoder.median_of()).c_str(),
                        json_times("search_median", r.search.median_of()).c_str(),
                        json_times("chunk_median", r.chunk.median_of()).c_str(),
                        json_times("encoder_total", r.encoder.total()).c_str(), json_times("total", total).c_str(),
                        1e3 * r.chunk.wall.front(), total.wall / audio_seconds, total.cpu / audio_seconds);
        }
        std::printf("], %s, \"whole\": [", json_times("whole_encoder", whole_encoder).c_str());
        for (size_t i = 0; i < whole.size(); ++i) {
            const Times total{whole_encoder.wall + whole[i].search.wall, whole_encoder.cpu + whole[i].search.cpu};
            std::printf("%s{\"beam\": %lld, \"tokens\": %lld, %s, %s, \"rtf\": {\"wall\": %.6f, \"cpu\": %.6f}}",
                        i ? ", " : "", static_cast<long long>(whole[i].beam), static_cast<long long>(whole[i].tokens),
                        json_times("search", whole[i].search).c_str(), json_times("total", total).c_str(),
                        total.wall / audio_seconds, total.cpu / audio_seconds);
        }
        // Batched multi-stream decoding does not exist yet (issue 5): "batched" stays null
        // until it does; streams_per_core_single is 1 / streaming RTF of one stream alone.
        std::printf("], \"streams_per_core_single\": [");
        for (size_t i = 1; i < streaming.size(); ++i)
            std::printf("%s{\"beam\": %lld, \"cpu\": %.3f, \"wall\": %.3f}", i > 1 ? ", " : "",
                        static_cast<long long>(streaming[i].beam), audio_seconds / streaming[i].chunk.total().cpu,
                        audio_seconds / streaming[i].chunk.total().wall);
        std::printf("], \"streams_per_core_batched\": null, \"concurrent_threads\": %lld, \"concurrent_wall_s\": [",
                    static_cast<long long>(threads));
        for (size_t i = 0; i < concurrent.size(); ++i) std::printf("%s%.4f", i ? ", " : "", concurrent[i]);
        std::printf("], \"peak_rss_streaming_bytes\": %.0f, \"peak_rss_bytes\": %.0f}\n", streaming_rss, peak_rss);
        return 0;
    }

    std::printf("model         %s: %.1f MB, %lld layers, %lld symbols; kernels: %s\n", model_path.c_str(), file_bytes / MB,
                static_cast<long long>(c.transformer_num_layers), static_cast<long long>(c.num_symbols),
                kernels::isa_name(kernels::active_isa()));
    std::printf("input         %.1f s of %s features: %lld streaming chunks of %.0f ms, %lld encoder frames\n",
                audio_seconds, parsed.has("--features") ? "given" : "random", static_cast<long long>(chunks),
                1e3 * chunk_seconds, static_cast<long long>(frames_out));
    std::printf("load          %.1f ms (median of 3: mmap + validation)\n", 1e3 * load);
    if (model.metadata.has_front_end)
        std::printf("front end     %.1f ms cpu / %.1f ms wall for %.1f s: RTF %.5f\n", 1e3 * front_end_time.cpu,
                    1e3 * front_end_time.wall, audio_seconds, front_end_time.cpu / audio_seconds);
    std::printf("\nstreaming, per chunk, median ms (cpu / wall)     RTF cpu (wall)   frames per token\n");
    for (const StreamingRun& r : streaming) {
        const Times total = r.chunk.total(), enc = r.encoder.median_of(), chunk = r.chunk.median_of();
        char label[32];
        std::snprintf(label, sizeof label, r.beam ? "beam %lld" : "encoder only", static_cast<long long>(r.beam));
        std::printf("  %-12s encoder %6.2f / %6.2f  total %6.2f / %6.2f   %.4f (%.4f)", label, 1e3 * enc.cpu,
                    1e3 * enc.wall, 1e3 * chunk.cpu, 1e3 * chunk.wall, total.cpu / audio_seconds,
                    total.wall / audio_seconds);
        if (r.beam) {
            std::printf("   %.1f", r.tokens ? static_cast<double>(frames_out) / static_cast<double>(r.tokens) : 0.0);
        } else {
            std::printf("   first chunk %.1f ms wall (weights paged in)", 1e3 * r.chunk.wall.front());
        }
        std::printf("\n");
    }
    std::printf("\nnon-streaming, %.1f s: encoder %.3f s cpu (%.3f s wall)\n", audio_seconds, whole_encoder.cpu,
                whole_encoder.wall);
    for (const WholeRun& r : whole) {
        const double cpu = whole_encoder.cpu + r.search.cpu, wall = whole_encoder.wall + r.search.wall;
        std::printf("  beam %-7lld search %.3f s cpu   total RTF %.4f (%.4f)   frames per token %.1f\n",
                    static_cast<long long>(r.beam), r.search.cpu, cpu / audio_seconds, wall / audio_seconds,
                    r.tokens ? static_cast<double>(whole_rows) / static_cast<double>(r.tokens) : 0.0);
    }
    std::printf("\nstreams per core: single stream, unbatched (1 / streaming RTF, cpu); batched multi-stream\n"
                "decoding does not exist yet (issue 5)\n ");
    for (size_t i = 1; i < streaming.size(); ++i)
        std::printf("  beam %lld: %.1f", static_cast<long long>(streaming[i].beam),
                    audio_seconds / streaming[i].chunk.total().cpu);
    std::printf("\n");
    if (!concurrent.empty()) {
        const double slowest = *std::max_element(concurrent.begin(), concurrent.end());
        std::printf("%lld streams at once on %lld threads, beam %lld: slowest RTF %.4f (wall)\n",
                    static_cast<long long>(threads), static_cast<long long>(threads),
                    static_cast<long long>(beams.front()), slowest / audio_seconds);
    }
    std::printf("\npeak RSS      streaming %.1f MB (%.2fx the file), overall %.1f MB (%.2fx)\n", streaming_rss / MB,
                streaming_rss / file_bytes, peak_rss / MB, peak_rss / file_bytes);
    return 0;
}

}  // namespace ember::verbs
