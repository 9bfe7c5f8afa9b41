// Tensor views. ember's activations are matrices: (time, features) for one
// stream, rows a fixed number of floats apart. A view owns nothing: it points
// into an arena, a std::vector or the mmap'd weight file.
#pragma once

#include <cstdint>

#include "engine/error.h"

namespace ember {

// A row-major float matrix view: `rows` x `cols`, row i at data + i * stride.
struct Tensor {
    float* data = nullptr;
    int64_t rows = 0;
    int64_t cols = 0;
    int64_t stride = 0;  // floats between the starts of consecutive rows (>= cols)

    float* row(int64_t i) const { return data + i * stride; }
    // Rows [begin, begin + count).
    Tensor rows_slice(int64_t begin, int64_t count) const {
        EMBER_CHECK(begin >= 0 && count >= 0 && begin + count <= rows, "row slice [", begin, ", ",
                    begin + count, ") out of ", rows, " rows");
        return {data + begin * stride, count, cols, stride};
    }
    // Columns [begin, begin + count), same rows.
    Tensor cols_slice(int64_t begin, int64_t count) const {
        EMBER_CHECK(begin >= 0 && count >= 0 && begin + count <= cols, "column slice [", begin, ", ",
                    begin + count, ") out of ", cols, " columns");
        return {data + begin, rows, count, stride};
    }
    bool contiguous() const { return stride == cols || rows <= 1; }
};

// Weights of a torch.nn.Linear, viewed in the weight file: y = x W^T + b.
struct LinearWeights {
    // (out_features, in_features): rows, or packed in panels (kernels::pack_linear_weights)
    const float* weight = nullptr;
    bool packed = false;
    const float* bias = nullptr;    // (out_features) or null
    int64_t in_features = 0;
    int64_t out_features = 0;
};

// Weights of a torch.nn.LayerNorm over the last dimension.
struct LayerNormWeights {
    const float* weight = nullptr;  // (dim)
    const float* bias = nullptr;    // (dim)
    int64_t dim = 0;
};

}  // namespace ember
