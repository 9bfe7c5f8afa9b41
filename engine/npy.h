// NumPy .npy files: float32, little-endian, C order (format versions 1.0-3.0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ember {

struct NpyArray {
    std::vector<int64_t> shape;
    std::vector<float> values;  // row-major
};

// Throws ember::Error naming the file and what is wrong (not .npy, dtype other
// than '<f4', Fortran order, truncated data, ...).
NpyArray read_npy(const std::string& path);
// The same over `size` bytes in memory (tests, fuzzing); errors name `origin`.
// Never reads outside [data, data + size).
NpyArray parse_npy(const uint8_t* data, size_t size, const std::string& origin);
void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape);

}  // namespace ember
