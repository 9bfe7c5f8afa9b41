// Model-level pieces on every ISA the CPU runs, at emformer_rnnt_base's sizes:
// the attention op of one Emformer layer, one predictor step (3 LSTM layers
// with their gate GEMMs and layer norms) and the front end on 10 s of audio.
#include "bench/bench_common.h"
#include "engine/ops.h"
#include "model/front_end.h"

namespace ember::bench {

namespace {

// Args: query rows, key rows. D = 512, 8 heads; keys and values side by side
// in (n, 2D) buffers as the Emformer layer keeps them, in the three blocks a
// streaming chunk attends to (4 memory vectors, the chunk's 5 frames, the
// rest left context) or, non-streaming, one block. Streaming: 5 queries (1
// right-context + 4 utterance frames) against 4 + 5 + 30 keys.
void bench_attend(benchmark::State& state, kernels::Isa isa) {
    const int64_t nq = state.range(0), nk = state.range(1), D = 512, heads = 8;
    std::vector<float> q = random_floats(size_t(nq * D)), kv = random_floats(size_t(nk * 2 * D), 2);
    std::vector<float> scores(static_cast<size_t>(nq * nk)), out(static_cast<size_t>(nq * D));
    const Tensor query{q.data(), nq, D, D}, scratch{scores.data(), nq, nk, nk}, output{out.data(), nq, D, D};
    const Tensor key_value{kv.data(), nk, 2 * D, 2 * D};
    const int64_t memory = nq == 5 ? 4 : 0, frames = nq == 5 ? 5 : nk;
    auto block = [&](int64_t begin, int64_t count) {
        const Tensor rows = key_value.rows_slice(begin, count);
        return ops::KeyValue{rows.cols_slice(0, D), rows.cols_slice(D, D)};
    };
    const ops::KeyValue blocks[] = {block(0, memory), block(memory, frames),
                                    block(memory + frames, nk - memory - frames)};
    kernels::set_isa(isa);
    for (auto _ : state) {
        ops::attend(query, blocks, 3, heads, scratch, output);
        benchmark::DoNotOptimize(out.data());
    }
    set_flops(state, 4.0 * double(nq * nk * D));
}

// Args: rows (hypotheses). One predictor step of 3 _CustomLSTM layers of
// H = 512 with layer norms: gates = x W_x^T + h W_h^T (the second GEMM adding
// the first's output in its epilogue), then lstm_cell. The
// 3 x 2 x 4 MB of weights fit in this machine's L3 as they do between the
// steps of a search.
void bench_lstm_step(benchmark::State& state, kernels::Isa isa) {
    const int64_t rows = state.range(0), H = 512, layers = 3;
    std::vector<std::vector<float>> w_x, w_h;
    for (int64_t l = 0; l < layers; ++l) {
        w_x.push_back(random_floats(size_t(4 * H * H), unsigned(10 + l)));
        w_h.push_back(random_floats(size_t(4 * H * H), unsigned(20 + l)));
    }
    const std::vector<float> g_gamma = random_floats(size_t(4 * H), 3), g_beta = random_floats(size_t(4 * H), 4);
    const std::vector<float> c_gamma = random_floats(size_t(H), 5), c_beta = random_floats(size_t(H), 6);
    std::vector<float> x = random_floats(size_t(rows * H), 7), h(size_t(rows * H)), c(size_t(rows * H));
    std::vector<float> gates(size_t(rows * 4 * H)), recurrent(size_t(rows * 4 * H));
    kernels::LinearEpilogue input_gates;  // recurrent = h W_h^T + gates, as the predictor adds them
    input_gates.residual = gates.data();
    input_gates.ld_residual = 4 * H;
    kernels::set_isa(isa);
    for (auto _ : state) {
        for (int64_t l = 0; l < layers; ++l) {
            kernels::linear(x.data(), H, w_x[size_t(l)].data(), H, nullptr, gates.data(), 4 * H, rows, 4 * H, H);
            kernels::linear(h.data(), H, w_h[size_t(l)].data(), H, nullptr, recurrent.data(), 4 * H, rows, 4 * H, H,
                            input_gates);
            kernels::lstm_cell(recurrent.data(), 4 * H, g_gamma.data(), g_beta.data(), c_gamma.data(),
                               c_beta.data(), 1e-3f, c.data(), H, h.data(), H, rows, H);
        }
        benchmark::DoNotOptimize(h.data());
    }
    set_flops(state, double(layers) * 2.0 * 2.0 * double(rows * 4 * H * H));
}

// Args: seconds of 16 kHz noise. The pipeline's front end: MelSpectrogram
// (n_fft 400, hop 160, 80 mels), piecewise-linear log, no global stats.
void bench_front_end(benchmark::State& state, kernels::Isa isa) {
    const FrontEndConfig config;
    const int64_t samples = state.range(0) * config.sample_rate;
    const std::vector<float> audio = random_floats(size_t(samples));
    FrontEnd front_end = make_front_end(config);
    std::vector<float> features(size_t(feature_frames(config, samples) * config.n_mels));
    kernels::set_isa(isa);
    for (auto _ : state) {
        compute_features(front_end, audio.data(), samples, features.data());
        benchmark::DoNotOptimize(features.data());
    }
    // Audio seconds per second of compute, inverted: the real-time factor.
    state.counters["RTF"] = benchmark::Counter(double(state.range(0)), benchmark::Counter::kIsIterationInvariantRate |
                                                                           benchmark::Counter::kInvert);
}

const bool registered = [] {
    for (kernels::Isa isa : supported_isas()) {
        const std::string name = kernels::isa_name(isa);
        benchmark::RegisterBenchmark(("attend/" + name).c_str(), bench_attend, isa)
            ->ArgNames({"queries", "keys"})
            ->Args({5, 35})     // streaming chunk
            ->Args({60, 70});   // non-streaming block: 4-frame segment rows see their block's keys
        benchmark::RegisterBenchmark(("lstm_step/" + name).c_str(), bench_lstm_step, isa)
            ->ArgName("rows")
            ->Arg(1)
            ->Arg(10);
        benchmark::RegisterBenchmark(("front_end/" + name).c_str(), bench_front_end, isa)
            ->ArgName("seconds")
            ->Arg(10)
            ->Unit(benchmark::kMillisecond);
    }
    return true;
}();

}  // namespace

}  // namespace ember::bench
