// Scratch memory for a forward pass: one 64-byte aligned block, carved into
// tensors by bumping a pointer. Sized once up front (when a stream is created)
// so that the streaming hot loop never touches the heap; asking for more than
// the block holds is an error, not a reallocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "engine/tensor.h"

namespace ember {

class Arena {
public:
    Arena() = default;
    explicit Arena(size_t capacity_floats);
    // An arena that hands out null views and only counts: run an allocation
    // plan through it to learn the capacity the real arena needs.
    static Arena counting();

    // A fresh (rows, cols) matrix, rows padded to a multiple of 16 floats so
    // that every row starts 64-byte aligned. Contents are unspecified.
    Tensor matrix(int64_t rows, int64_t cols);
    // Floats needed by matrix(rows, cols): lets callers size an arena exactly.
    static size_t matrix_floats(int64_t rows, int64_t cols);

    void reset() { used_ = 0; }
    size_t used() const { return used_; }
    size_t capacity() const { return capacity_; }

private:
    struct FreeAligned {
        void operator()(float* p) const;
    };
    std::unique_ptr<float, FreeAligned> block_;
    size_t capacity_ = 0;  // in floats
    size_t used_ = 0;
    bool counting_ = false;
};

}  // namespace ember
