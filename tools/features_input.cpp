#include "tools/features_input.h"

#include <algorithm>

#include "model/tensor_list.h"
#include "model/transcriber.h"

namespace ember {

NpyArray read_features(const std::string& path, const EmformerRnntConfig& c) {
    NpyArray features = read_npy(path);
    if (features.shape.size() != 2 || features.shape[1] != c.input_dim)
        fail(path, ": features must have shape (T, ", c.input_dim, "), got ", shape_string(features.shape));
    return features;
}

int64_t checked_output_rows(const NpyArray& features, const EmformerRnntConfig& c, const std::string& path) {
    const int64_t rows = transcribe_output_rows(c, features.shape[0]);
    if (rows <= 0)
        fail(path, ": ", features.shape[0], " frames are too few: the model needs more than its right context of ",
             c.right_context_length, " frames (after time reduction by ", c.time_reduction_stride, ")");
    return rows;
}

int64_t streaming_chunk_count(const NpyArray& features, const EmformerRnntConfig& c) {
    const int64_t T = features.shape[0];
    return T > c.right_context_length ? (T - c.right_context_length + c.segment_length - 1) / c.segment_length : 0;
}

void fill_chunk(const NpyArray& features, const EmformerRnntConfig& c, int64_t k, std::vector<float>& chunk) {
    const int64_t frames = chunk_input_frames(c), begin = k * c.segment_length;
    chunk.assign(static_cast<size_t>(frames * c.input_dim), 0.0f);
    const int64_t available = std::max<int64_t>(0, std::min(frames, features.shape[0] - begin));
    std::copy_n(features.values.data() + begin * c.input_dim, available * c.input_dim, chunk.data());
}

}  // namespace ember
