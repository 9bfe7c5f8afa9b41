// The timed runs behind `ember bench`: streaming streams chunk by chunk
// (one alone, or several advanced together on one thread), streams side by
// side on threads, and the clocks they are timed with.
#pragma once

#include <vector>

#include "engine/npy.h"
#include "model/beam_search.h"
#include "model/model.h"
#include "tools/cli.h"

namespace ember::verbs {

// Wall time and the CPU time of the whole process (every thread of it: with
// --threads N the kernel pool's workers count too), in seconds.
struct Times {
    double wall = 0.0, cpu = 0.0;
    Times& operator+=(const Times& o) {
        wall += o.wall;
        cpu += o.cpu;
        return *this;
    }
};
Times now();
Times since(const Times& start);

double median(std::vector<double> values);

// Times of the steps of one run, in seconds.
struct Series {
    std::vector<double> wall, cpu;
    void add(const Times& t);
    Times total() const;
    Times median_of() const;
};

// One streaming run: per step, every stream's next chunk through the
// transcriber in one call (`encoder`), then each stream's beam search
// (`search`, summed over the streams); `chunk` is both.
struct StreamingRun {
    int64_t beam = 0;     // 0: the transcriber alone
    int64_t streams = 1;  // advanced together
    Series encoder, search, chunk;
    int64_t tokens = 0;   // the best paths' emitted tokens, all streams together
};

// `streams` streams, stream i streaming features[i] (all of one length), on
// this thread: one stream is transcribe_chunk's path, several are batched
// with transcribe_chunks. Beam 0 runs the transcriber alone; otherwise each
// stream searches each chunk as `search` chooses, its beam replaced by
// `beam`, the streams' searches in lockstep (search_stream_chunks).
StreamingRun run_streaming(const Model& model, const NpyArray* features, int64_t streams, int64_t beam,
                           const SearchOptions& search, cli::Progress* progress);

// `count` single streams at once, one per thread: the wall time of each whole stream.
std::vector<double> run_concurrent(const Model& model, const NpyArray& features, int64_t beam,
                                   const SearchOptions& search, int64_t count);

// (frames, input_dim) standard-normal features.
NpyArray random_features(const EmformerRnntConfig& config, int64_t frames, unsigned seed);

}  // namespace ember::verbs
