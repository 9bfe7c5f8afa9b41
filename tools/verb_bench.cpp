// ember bench: how fast a model runs on this machine -- load time, streaming
// and non-streaming real-time factors per beam, the front end, streams per
// core (single and batched), peak memory -- on random features generated
// in-process (no audio).
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/npy.h"
#include "kernels/kernels.h"
#include "model/beam_search.h"
#include "model/front_end.h"
#include "model/model.h"
#include "model/transcriber.h"
#include "tools/bench_runs.h"
#include "tools/cli.h"
#include "tools/features_input.h"
#include "tools/verbs.h"

namespace ember::verbs {

namespace {

const char* kUsage =
    "usage: ember bench MODEL.ember [--seconds SEC] [--beam K ...] [--threads N] [--streams S]\n"
    "                   [--concurrent N] [--features IN.npy] [--seed N]\n"
    "                   [--carry-predictor | --carry-beam] [--json]\n\n"
    "Measures the model on this machine: load time (mmap + validation), the front end, streaming\n"
    "(per 160 ms chunk for the base model: encoder alone, then encoder + beam search per beam),\n"
    "non-streaming (encoder over the whole input, then the search), streams per core and peak RSS.\n"
    "The input is SEC seconds of standard-normal features made in-process (no audio needed).\n"
    "Times are given as CPU time of the process (all its threads), then wall time: on a busy\n"
    "machine wall time also counts time other processes held the cores. RTF = compute time /\n"
    "audio time.\n\n"
    "Streams per core: how many streams one core keeps in real time. Single: 1 / RTF of one\n"
    "stream. Batched (--streams S): S streams advanced together on one thread, each step one\n"
    "transcriber call over a chunk of every stream (weights read once for all), then each\n"
    "stream's search; batch RTF = time of the whole batch / audio time of one stream, and streams\n"
    "per core = S / batch RTF (CPU time; from wall time also divided by --threads).\n\n"
    "  --seconds SEC      seconds of input (default 30)\n"
    "  --beam K           beam width; repeat it or give a list (default 1,4,10; 1 is greedy)\n"
    "  --threads N        cores each matrix product is split across (default 1), for every run\n"
    "                     (it used to run N streams at once, one per thread: now --concurrent N)\n"
    "  --streams S        also run S streams batched on one thread: encoder alone, then per beam;\n"
    "                     stream i reads features of seed + i (default: not run)\n"
    "  --concurrent N     also run N single streams at once, one per thread, first beam\n"
    "                     (default 1: not run)\n"
    "  --features IN.npy  use these float32 features (T, input_dim) instead of random ones, for\n"
    "                     every stream; the last right_context_length frames are the right context\n"
    "  --seed N           seed of the random features (default 1)\n"
    "  --carry-predictor  the streaming runs search each chunk from the best hypothesis's own\n"
    "                     predictor state (as transcribe --streaming --carry-predictor)\n"
    "  --carry-beam       the streaming runs carry the whole beam from chunk to chunk (as\n"
    "                     transcribe --streaming --carry-beam); default: torchaudio's search,\n"
    "                     restarted from the best hypothesis at every chunk\n"
    "  --json             one JSON object on standard output, milliseconds unless named otherwise\n";

struct WholeRun {
    int64_t beam = 0;
    Times search;
    int64_t tokens = 0;
};

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

// "name": {"wall": .., "cpu": ..} in milliseconds.
std::string json_times(const char* name, const Times& t) {
    char text[160];
    std::snprintf(text, sizeof text, "\"%s\": {\"wall\": %.4f, \"cpu\": %.4f}", name, 1e3 * t.wall, 1e3 * t.cpu);
    return text;
}

// Streams one core keeps in real time, from a run of r.streams streams:
// streams x audio time / CPU time; from wall time also divided by the cores.
Times streams_per_core(const StreamingRun& r, double audio_seconds, int64_t threads) {
    const Times t = r.chunk.total();
    const double streamed = static_cast<double>(r.streams) * audio_seconds;
    return {streamed / (t.wall * static_cast<double>(threads)), streamed / t.cpu};
}

std::string json_run(const StreamingRun& r, double audio_seconds, int64_t threads) {
    const Times total = r.chunk.total(), per_core = streams_per_core(r, audio_seconds, threads);
    const Times encoder = r.encoder.median_of();
    const double streams = static_cast<double>(r.streams);
    char text[256];
    std::snprintf(text, sizeof text,
                  "\"first_chunk_ms\": %.4f, \"rtf\": {\"wall\": %.6f, \"cpu\": %.6f}, "
                  "\"streams_per_core\": {\"wall\": %.3f, \"cpu\": %.3f}}",
                  1e3 * r.chunk.wall.front(), total.wall / audio_seconds, total.cpu / audio_seconds, per_core.wall,
                  per_core.cpu);
    return "{\"beam\": " + std::to_string(r.beam) + ", \"streams\": " + std::to_string(r.streams) +
           ", \"tokens\": " + std::to_string(r.tokens) + ", " + json_times("encoder_median", encoder) + ", " +
           json_times("encoder_median_per_stream", {encoder.wall / streams, encoder.cpu / streams}) + ", " +
           json_times("search_median", r.search.median_of()) + ", " + json_times("chunk_median", r.chunk.median_of()) +
           ", " + json_times("encoder_total", r.encoder.total()) + ", " + json_times("total", total) + ", " + text;
}

// [{"beam": K, "streams": S, "cpu": .., "wall": ..}, ...] for the runs with a search.
std::string json_streams_per_core(const std::vector<StreamingRun>& runs, double audio_seconds, int64_t threads) {
    std::string list;
    for (const StreamingRun& r : runs) {
        if (r.beam == 0) continue;
        const Times per_core = streams_per_core(r, audio_seconds, threads);
        char item[160];
        std::snprintf(item, sizeof item, "%s{\"beam\": %lld, \"streams\": %lld, \"cpu\": %.3f, \"wall\": %.3f}",
                      list.empty() ? "" : ", ", static_cast<long long>(r.beam), static_cast<long long>(r.streams),
                      per_core.cpu, per_core.wall);
        list += item;
    }
    return "[" + list + "]";
}

std::string run_label(const StreamingRun& r) {
    return r.beam ? "beam " + std::to_string(r.beam) : std::string("encoder only");
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
        take_beams(all_args, beams), {{"--seconds"}, {"--threads"}, {"--streams"}, {"--concurrent"}, {"--features"},
                                      {"--seed"}, {"--carry-predictor", false}, {"--carry-beam", false},
                                      {"--json", false}});
    if (parsed.help) {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (parsed.positionals.size() != 1) throw cli::UsageError("expected one MODEL.ember argument");
    if (beams.empty()) beams = {1, 4, 10};
    const std::string model_path = parsed.positionals[0];
    const double seconds = parsed.number("--seconds", 30.0, 0.5, 36000.0);
    const int64_t threads = parsed.integer("--threads", 1, 1, 256);
    const int64_t batched_streams = parsed.integer("--streams", 0, 1, 4096);
    const int64_t concurrent_streams = parsed.integer("--concurrent", 1, 1, 1024);
    const unsigned seed = static_cast<unsigned>(parsed.integer("--seed", 1, 0, 1u << 31));
    const bool json = parsed.has("--json");
    SearchOptions streaming_search;
    streaming_search.carry_predictor = cli::carry_predictor(parsed, false);
    streaming_search.carry_beam = cli::carry_beam(parsed, false);
    const char* search_name = streaming_search.carry_beam        ? "carry_beam"
                              : streaming_search.carry_predictor ? "carry_predictor"
                                                                 : "torchaudio";
    cli::check_input_file(model_path);
    if (parsed.has("--features")) cli::check_input_file(parsed.required("--features"));
    kernels::set_num_threads(static_cast<int>(threads));

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
    auto run = [&](const NpyArray* stream_features, int64_t streams, int64_t beam) {
        std::string label = beam ? "beam " + std::to_string(beam) : std::string("encoder only");
        if (streams > 1) label = std::to_string(streams) + " streams batched, " + label;
        cli::Progress progress("streaming, " + label);
        StreamingRun r = run_streaming(model, stream_features, streams, beam, streaming_search,
                                       json ? nullptr : &progress);
        progress.finish();
        return r;
    };
    std::vector<StreamingRun> streaming{run(&features, 1, 0)};
    for (int64_t beam : beams) streaming.push_back(run(&features, 1, beam));
    const double streaming_rss = peak_rss_bytes();

    // Batched: stream i on the features of seed + i (or all on the given ones).
    std::vector<StreamingRun> batched;
    if (batched_streams > 0) {
        std::vector<NpyArray> stream_features{features};
        for (unsigned i = 1; i < static_cast<unsigned>(batched_streams); ++i)
            stream_features.push_back(parsed.has("--features") ? features : random_features(c, T, seed + i));
        batched.push_back(run(stream_features.data(), batched_streams, 0));
        for (int64_t beam : beams) batched.push_back(run(stream_features.data(), batched_streams, beam));
    }

    std::vector<double> concurrent;
    if (concurrent_streams > 1) concurrent = run_concurrent(model, features, beams.front(), streaming_search, concurrent_streams);

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
        std::printf("\"threads\": %lld, \"streaming_search\": \"%s\", \"streaming\": [", static_cast<long long>(threads),
                    search_name);
        for (size_t i = 0; i < streaming.size(); ++i)
            std::printf("%s%s", i ? ", " : "", json_run(streaming[i], audio_seconds, threads).c_str());
        std::printf("], %s, \"whole\": [", json_times("whole_encoder", whole_encoder).c_str());
        for (size_t i = 0; i < whole.size(); ++i) {
            const Times total{whole_encoder.wall + whole[i].search.wall, whole_encoder.cpu + whole[i].search.cpu};
            std::printf("%s{\"beam\": %lld, \"tokens\": %lld, %s, %s, \"rtf\": {\"wall\": %.6f, \"cpu\": %.6f}}",
                        i ? ", " : "", static_cast<long long>(whole[i].beam), static_cast<long long>(whole[i].tokens),
                        json_times("search", whole[i].search).c_str(), json_times("total", total).c_str(),
                        total.wall / audio_seconds, total.cpu / audio_seconds);
        }
        // streams_per_core_single: one stream alone; _batched: --streams S together
        // (null without --streams), _batched_encoder: the same for the encoder alone.
        std::printf("], \"streams_per_core_single\": %s, ",
                    json_streams_per_core(streaming, audio_seconds, threads).c_str());
        if (batched.empty()) {
            std::printf("\"batched\": null, \"streams_per_core_batched\": null, "
                        "\"streams_per_core_batched_encoder\": null, ");
        } else {
            std::printf("\"batched\": [");
            for (size_t i = 0; i < batched.size(); ++i)
                std::printf("%s%s", i ? ", " : "", json_run(batched[i], audio_seconds, threads).c_str());
            const Times encoder_per_core = streams_per_core(batched.front(), audio_seconds, threads);
            std::printf("], \"streams_per_core_batched\": %s, \"streams_per_core_batched_encoder\": "
                        "{\"streams\": %lld, \"cpu\": %.3f, \"wall\": %.3f}, ",
                        json_streams_per_core(batched, audio_seconds, threads).c_str(),
                        static_cast<long long>(batched_streams), encoder_per_core.cpu, encoder_per_core.wall);
        }
        std::printf("\"concurrent_threads\": %lld, \"concurrent_wall_s\": [",
                    static_cast<long long>(concurrent_streams));
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
    std::printf("\nstreaming (%s search), per chunk, median ms (cpu / wall)     RTF cpu (wall)   frames per token\n",
                search_name);
    for (const StreamingRun& r : streaming) {
        const Times total = r.chunk.total(), enc = r.encoder.median_of(), chunk = r.chunk.median_of();
        std::printf("  %-12s encoder %6.2f / %6.2f  total %6.2f / %6.2f   %.4f (%.4f)", run_label(r).c_str(),
                    1e3 * enc.cpu, 1e3 * enc.wall, 1e3 * chunk.cpu, 1e3 * chunk.wall, total.cpu / audio_seconds,
                    total.wall / audio_seconds);
        if (r.beam) {
            std::printf("   %.1f", r.tokens ? static_cast<double>(frames_out) / static_cast<double>(r.tokens) : 0.0);
        } else {
            std::printf("   first chunk %.1f ms wall (weights paged in)", 1e3 * r.chunk.wall.front());
        }
        std::printf("\n");
    }
    if (!batched.empty()) {
        std::printf("\n%lld streams batched, per step (a chunk of every stream), median ms (cpu / wall)\n"
                    "                encoder (per stream)                total                batch RTF cpu (wall)\n",
                    static_cast<long long>(batched_streams));
        for (const StreamingRun& r : batched) {
            const Times total = r.chunk.total(), enc = r.encoder.median_of(), chunk = r.chunk.median_of();
            const double n = static_cast<double>(r.streams);
            std::printf("  %-12s  %7.2f / %7.2f (%6.2f / %6.2f)  %7.2f / %7.2f   %.4f (%.4f)\n", run_label(r).c_str(),
                        1e3 * enc.cpu, 1e3 * enc.wall, 1e3 * enc.cpu / n, 1e3 * enc.wall / n, 1e3 * chunk.cpu,
                        1e3 * chunk.wall, total.cpu / audio_seconds, total.wall / audio_seconds);
        }
    }
    std::printf("\nnon-streaming, %.1f s: encoder %.3f s cpu (%.3f s wall)\n", audio_seconds, whole_encoder.cpu,
                whole_encoder.wall);
    for (const WholeRun& r : whole) {
        const double cpu = whole_encoder.cpu + r.search.cpu, wall = whole_encoder.wall + r.search.wall;
        std::printf("  beam %-7lld search %.3f s cpu   total RTF %.4f (%.4f)   frames per token %.1f\n",
                    static_cast<long long>(r.beam), r.search.cpu, cpu / audio_seconds, wall / audio_seconds,
                    r.tokens ? static_cast<double>(whole_rows) / static_cast<double>(r.tokens) : 0.0);
    }
    std::printf("\nstreams per core in real time, cpu (wall / %lld threads)\n", static_cast<long long>(threads));
    auto print_per_core = [&](const std::string& label, const std::vector<StreamingRun>& runs) {
        std::printf("  %-20s", label.c_str());
        for (const StreamingRun& r : runs) {
            const Times per_core = streams_per_core(r, audio_seconds, threads);
            std::printf("  %s: %.1f (%.1f)", run_label(r).c_str(), per_core.cpu, per_core.wall);
        }
        std::printf("\n");
    };
    print_per_core("single stream", streaming);
    if (!batched.empty()) print_per_core(std::to_string(batched_streams) + " streams batched", batched);
    if (!concurrent.empty()) {
        const double slowest = *std::max_element(concurrent.begin(), concurrent.end());
        std::printf("%lld single streams at once on %lld threads, beam %lld: slowest RTF %.4f (wall)\n",
                    static_cast<long long>(concurrent_streams), static_cast<long long>(concurrent_streams),
                    static_cast<long long>(beams.front()), slowest / audio_seconds);
    }
    std::printf("\npeak RSS      streaming %.1f MB (%.2fx the file), overall %.1f MB (%.2fx)\n", streaming_rss / MB,
                streaming_rss / file_bytes, peak_rss / MB, peak_rss / file_bytes);
    return 0;
}

}  // namespace ember::verbs
