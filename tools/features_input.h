// Feature matrices given to `ember encode` / `ember decode`, and how they are
// cut into streaming chunks.
#pragma once

#include <string>
#include <vector>

#include "engine/npy.h"
#include "engine/tensor.h"
#include "model/config.h"

namespace ember {

// Reads IN.npy and checks it is (T, input_dim).
NpyArray read_features(const std::string& path, const EmformerRnntConfig& config);

// Non-streaming: the output rows for these features; throws naming the file
// when there are too few frames to leave any after the right context.
int64_t checked_output_rows(const NpyArray& features, const EmformerRnntConfig& config, const std::string& path);

// Streaming: chunk k holds rows [k*seg, k*seg + seg + rc) of the features,
// zero-padded at the end, for k < streaming_chunk_count = ceil((T - rc) / seg).
int64_t streaming_chunk_count(const NpyArray& features, const EmformerRnntConfig& config);
void fill_chunk(const NpyArray& features, const EmformerRnntConfig& config, int64_t k, std::vector<float>& chunk);

}  // namespace ember
