// The beam search alone, ember's search() against its reference twin
// (tests/search_reference.cpp, the plain transliteration of torchaudio's
// _search that ember ran before), on one model and one input, in one process:
// the features go through the transcriber once (streaming chunks and the whole
// input), then both searches run over the same encoder frames, alternating,
// `repeats` times. Prints thread CPU time per streaming chunk and for the whole
// input (medians), their ratio, and the work search() did (predictor and
// joiner calls and rows, reuse). Both must return the same hypotheses; the
// program fails (exit 1) when they do not.
//
//     ember_search_bench MODEL.ember FEATURES.npy [--beam K ...] [--score-frames F ...] [--repeats N]
//
// --score-frames: SearchOptions::score_frames to compare (default 0: chosen
// from the model and beam).
//
// FEATURES.npy: float32 (T, input_dim), e.g. bench/compare_torchaudio.py's.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "engine/npy.h"
#include "model/beam_search.h"
#include "model/transcriber.h"
#include "tests/search_reference.h"

namespace {

using namespace ember;

double cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

struct Frames {
    std::vector<float> values;
    int64_t rows = 0, step = 0;  // step: rows per search call
};

// The streaming transcriber over chunk k = rows [k * segment, + segment + right context) of the features, zero-padded.
Frames streaming_frames(const Model& model, const NpyArray& features) {
    const EmformerRnntConfig& c = model.config();
    const int64_t T = features.shape[0], in = chunk_input_frames(c), out = chunk_output_rows(c);
    const int64_t chunks = (T - c.right_context_length + c.segment_length - 1) / c.segment_length;
    Frames f{std::vector<float>(static_cast<size_t>(chunks * out * c.encoding_dim)), chunks * out, out};
    TranscriberStream stream = make_transcriber_stream(model);
    std::vector<float> chunk(static_cast<size_t>(in * c.input_dim));
    for (int64_t k = 0; k < chunks; ++k) {
        const int64_t begin = k * c.segment_length, available = std::max<int64_t>(0, std::min(in, T - begin));
        std::fill(chunk.begin(), chunk.end(), 0.0f);
        std::copy_n(features.values.data() + begin * c.input_dim, available * c.input_dim, chunk.data());
        transcribe_chunk(stream, {chunk.data(), in, c.input_dim, c.input_dim},
                         {f.values.data() + k * out * c.encoding_dim, out, c.encoding_dim, c.encoding_dim});
    }
    return f;
}

Frames whole_frames(const Model& model, NpyArray& features) {
    const EmformerRnntConfig& c = model.config();
    const int64_t T = features.shape[0], rows = transcribe_output_rows(c, T);
    Frames f{std::vector<float>(static_cast<size_t>(rows * c.encoding_dim)), rows, rows};
    transcribe(model, {features.values.data(), T, c.input_dim, c.input_dim},
               {f.values.data(), rows, c.encoding_dim, c.encoding_dim});
    return f;
}

Tensor call_frames(const Model& model, const Frames& f, int64_t start) {
    const int64_t E = model.config().encoding_dim;
    return {const_cast<float*>(f.values.data()) + start * E, std::min(f.step, f.rows - start), E, E};
}

// One pass of both searches over the frames: CPU seconds of each; the best
// hypotheses' tokens of every call compared.
bool run_both(const Model& model, const Frames& f, const SearchOptions& options, bool reference_first,
              double& ember_seconds, double& reference_seconds, SearchStats& stats, int64_t& gates_reused) {
    Decoder decoder = make_decoder(model, options);
    test::ReferenceDecoder reference = test::make_reference_decoder(model, options);
    std::vector<std::vector<int64_t>> ember_best, reference_best;
    auto run_ember = [&] {
        const double start = cpu_seconds();
        for (int64_t r = 0; r < f.rows; r += f.step) {
            const std::vector<Hypothesis>& h =
                search(decoder, call_frames(model, f, r), r > 0 ? &decoder.hypotheses.front() : nullptr);
            ember_best.push_back(h.front().tokens);
        }
        ember_seconds = cpu_seconds() - start;
    };
    auto run_reference = [&] {
        const double start = cpu_seconds();
        std::vector<Hypothesis> h;
        for (int64_t r = 0; r < f.rows; r += f.step) {
            h = test::reference_search(reference, call_frames(model, f, r), r > 0 ? &h.front() : nullptr);
            reference_best.push_back(h.front().tokens);
        }
        reference_seconds = cpu_seconds() - start;
    };
    if (reference_first) run_reference();
    run_ember();
    if (!reference_first) run_reference();
    stats = decoder.stats;
    gates_reused = decoder.networks.token_gates.reused;
    return ember_best == reference_best;
}

int run(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: ember_search_bench MODEL.ember FEATURES.npy [--beam K ...] [--score-frames F ...] "
                             "[--repeats N]\n");
        return 2;
    }
    std::vector<int64_t> beams, score_frames;
    int repeats = 3;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--beam")) beams.push_back(std::atoll(argv[i + 1]));
        else if (!std::strcmp(argv[i], "--score-frames")) score_frames.push_back(std::atoll(argv[i + 1]));
        else if (!std::strcmp(argv[i], "--repeats")) repeats = std::max(1, std::atoi(argv[i + 1]));
        else return std::fprintf(stderr, "unknown option %s\n", argv[i]), 2;
    }
    if (beams.empty()) beams = {4, 10};
    if (score_frames.empty()) score_frames = {0};
    const Model model = load_model(argv[1]);
    NpyArray features = read_npy(argv[2]);
    const Frames streaming = streaming_frames(model, features), whole = whole_frames(model, features);
    std::printf("thread CPU ms, medians of %d; reference = the plain transliteration of _search\n", repeats);
    bool same = true;
    for (int64_t beam : beams) {
        for (int64_t frames : score_frames) {
            SearchOptions options;
            options.beam = beam;
            options.score_frames = frames;
            const int64_t scored = frames_scored_per_call(model.config(), options);
            for (const Frames* f : {&streaming, &whole}) {
                std::vector<double> ember_ms, reference_ms;
                SearchStats stats;
                int64_t gates_reused = 0;
                for (int k = 0; k < repeats; ++k) {
                    double e = 0, r = 0;
                    same &= run_both(model, *f, options, k % 2 == 1, e, r, stats, gates_reused);
                    ember_ms.push_back(1e3 * e);
                    reference_ms.push_back(1e3 * r);
                }
                const int64_t calls = (f->rows + f->step - 1) / f->step;
                const double per = static_cast<double>(calls);
                const double e = median(ember_ms), r = median(reference_ms);
                std::printf("beam %2lld scoring %lld frames %-9s  %s: reference %8.2f  search %8.2f  (%.2fx)\n",
                            static_cast<long long>(beam), static_cast<long long>(scored),
                            f == &streaming ? "streaming" : "whole", f == &streaming ? "per chunk" : "total    ",
                            r / per, e / per, r / e);
                std::printf("    per call: predictor %.2f calls %.1f rows, joiner %.2f calls %.1f rows; reused %.1f "
                            "predictions %.1f scores %.1f input gates; %lld full rankings\n",
                            stats.predictor_calls / per, stats.predictor_rows / per, stats.joiner_calls / per,
                            stats.joiner_rows / per, stats.predictions_reused / per, stats.scores_reused / per,
                            gates_reused / per, static_cast<long long>(stats.full_rankings));
            }
        }
    }
    if (!same) std::fprintf(stderr, "search and the reference disagree\n");
    return same ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ember_search_bench: %s\n", e.what());
        return 1;
    }
}
