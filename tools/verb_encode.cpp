// ember encode: features (.npy) -> transcriber output (.npy), streaming or not.
#include <cstdio>
#include <vector>

#include "engine/npy.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "model/transcriber.h"
#include "tools/cli.h"
#include "tools/features_input.h"
#include "tools/verbs.h"

namespace ember::verbs {

namespace {

const char* kUsage =
    "usage: ember encode MODEL.ember --features IN.npy --out OUT.npy [--streaming] [--threads N]\n\n"
    "Runs the transcription network (RNNT.transcribe) on float32 features (T, input_dim)\n"
    "whose last right_context_length frames are the right context.\n\n"
    "  --features IN.npy  float32, C order, shape (T, input_dim)\n"
    "  --out OUT.npy      float32 (frames, encoding_dim)\n"
    "  --threads N        cores to split each matrix product across (default 1)\n"
    "  --streaming        run chunk by chunk as RNNT.transcribe_streaming: chunk k is frames\n"
    "                     [k*segment, k*segment + segment + right_context), zero-padded at the end\n";

}  // namespace

int encode(const Args& args) {
    const cli::ParsedArgs parsed =
        cli::parse_args(args, {{"--features"}, {"--out", true, "-o"}, {"--streaming", false}, {"--threads"}});
    if (parsed.help) {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (parsed.positionals.size() != 1) throw cli::UsageError("expected one MODEL.ember argument");
    const std::string model_path = parsed.positionals[0];
    const std::string features_path = parsed.required("--features");
    const std::string out_path = parsed.required("--out");
    cli::check_input_file(model_path);
    cli::check_input_file(features_path);
    cli::check_output_file(out_path);

    kernels::set_num_threads(static_cast<int>(parsed.integer("--threads", 1, 1, 256)));
    const Model model = load_model(model_path);
    const EmformerRnntConfig& c = model.config();
    NpyArray features = read_features(features_path, c);
    const int64_t T = features.shape[0];

    std::vector<float> output;
    int64_t rows = 0;
    if (!parsed.has("--streaming")) {
        rows = checked_output_rows(features, c, features_path);
        output.resize(static_cast<size_t>(rows * c.encoding_dim));
        transcribe(model, {features.values.data(), T, c.input_dim, c.input_dim},
                   {output.data(), rows, c.encoding_dim, c.encoding_dim});
    } else {
        TranscriberStream stream = make_transcriber_stream(model);
        const int64_t chunks = streaming_chunk_count(features, c), chunk_rows = chunk_output_rows(c);
        rows = chunks * chunk_rows;
        output.resize(static_cast<size_t>(rows * c.encoding_dim));
        std::vector<float> chunk;
        for (int64_t k = 0; k < chunks; ++k) {
            fill_chunk(features, c, k, chunk);
            transcribe_chunk(stream, {chunk.data(), chunk_input_frames(c), c.input_dim, c.input_dim},
                             {output.data() + k * chunk_rows * c.encoding_dim, chunk_rows, c.encoding_dim,
                              c.encoding_dim});
        }
    }
    write_npy(out_path, output.data(), {rows, c.encoding_dim});
    return 0;
}

}  // namespace ember::verbs
