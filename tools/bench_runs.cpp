#include "tools/bench_runs.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <random>
#include <thread>

#include "model/beam_search.h"
#include "model/transcriber.h"
#include "tools/features_input.h"

namespace ember::verbs {

Times now() {
    timespec cpu{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
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

void Series::add(const Times& t) {
    wall.push_back(t.wall);
    cpu.push_back(t.cpu);
}

Times Series::total() const {
    Times t;
    for (size_t i = 0; i < wall.size(); ++i) t += {wall[i], cpu[i]};
    return t;
}

Times Series::median_of() const { return {median(wall), median(cpu)}; }

// The streaming loop of `ember decode --streaming`, for every stream at once,
// timed per step; beam 0 runs the transcriber alone. A batch of one does
// exactly transcribe_chunk's work.
StreamingRun run_streaming(const Model& model, const NpyArray* features, int64_t streams, int64_t beam,
                           const SearchOptions& search, cli::Progress* progress) {
    const EmformerRnntConfig& c = model.config();
    const int64_t frames = chunk_input_frames(c), rows = chunk_output_rows(c);
    const int64_t chunks = streaming_chunk_count(features[0], c);
    for (int64_t i = 1; i < streams; ++i)
        EMBER_CHECK(streaming_chunk_count(features[i], c) == chunks, "bench: stream ", i, "'s features are ",
                    features[i].shape[0], " frames, stream 0's ", features[0].shape[0]);
    StreamingRun run;
    run.beam = beam;
    run.streams = streams;
    SearchOptions options = search;
    options.beam = std::max<int64_t>(beam, 1);
    TranscriberBatch batch = make_transcriber_batch(model, streams);
    std::vector<TranscriberStream> transcribers;
    std::vector<Decoder> decoders;
    std::vector<std::vector<float>> chunk_values(static_cast<size_t>(streams)), encoded(static_cast<size_t>(streams));
    std::vector<Tensor> chunk_in(static_cast<size_t>(streams)), encoder_out;
    for (int64_t i = 0; i < streams; ++i) {
        transcribers.push_back(make_transcriber_stream(model));
        decoders.push_back(make_decoder(model, options));
        std::vector<float>& out = encoded[static_cast<size_t>(i)];
        out.resize(static_cast<size_t>(rows * c.encoding_dim));
        encoder_out.push_back({out.data(), rows, c.encoding_dim, c.encoding_dim});
    }
    std::vector<TranscriberStream*> members;
    for (TranscriberStream& t : transcribers) members.push_back(&t);
    // The streams' searches in lockstep, as decode_batch runs them.
    SearchNetworks networks = make_search_networks(c, streams * search_call_rows(decoders.front()));
    std::vector<ChunkSearch> searches;
    searches.reserve(static_cast<size_t>(streams));

    for (int64_t k = 0; k < chunks; ++k) {
        for (size_t i = 0; i < chunk_in.size(); ++i) {
            fill_chunk(features[i], c, k, chunk_values[i]);
            chunk_in[i] = {chunk_values[i].data(), frames, c.input_dim, c.input_dim};
        }
        const Times start = now();
        transcribe_chunks(batch, members.data(), chunk_in.data(), encoder_out.data(), streams);
        const Times encoded_at = since(start);
        run.encoder.add(encoded_at);
        if (beam > 0) {
            searches.clear();
            for (size_t i = 0; i < decoders.size(); ++i) searches.push_back({&decoders[i], encoder_out[i], k == 0});
            search_stream_chunks(networks, searches.data(), streams);
            // A carried beam's best holds the whole path so far: count its tokens once, at the end.
            if (!options.carry_beam || k + 1 == chunks)
                for (const Decoder& d : decoders) run.tokens += static_cast<int64_t>(d.hypotheses.front().tokens.size()) - 1;
            const Times total = since(start);
            run.search.add({total.wall - encoded_at.wall, total.cpu - encoded_at.cpu});
            run.chunk.add(total);
        } else {
            run.chunk.add(encoded_at);
        }
        if (progress) progress->update(static_cast<double>(k + 1) / static_cast<double>(chunks));
    }
    return run;
}

std::vector<double> run_concurrent(const Model& model, const NpyArray& features, int64_t beam,
                                   const SearchOptions& search, int64_t count) {
    std::vector<double> wall(static_cast<size_t>(count));
    std::vector<std::thread> workers;
    for (size_t i = 0; i < wall.size(); ++i)
        workers.emplace_back(
            [&, i] { wall[i] = run_streaming(model, &features, 1, beam, search, nullptr).chunk.total().wall; });
    for (std::thread& worker : workers) worker.join();
    return wall;
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

}  // namespace ember::verbs
