#include "engine/arena.h"

#include <cstdlib>
#include <new>

namespace ember {

namespace {
constexpr int64_t kRowAlignFloats = 16;  // 64 bytes

int64_t padded_cols(int64_t cols) { return (cols + kRowAlignFloats - 1) / kRowAlignFloats * kRowAlignFloats; }
}  // namespace

void Arena::FreeAligned::operator()(float* p) const { std::free(p); }

Arena::Arena(size_t capacity_floats) : capacity_(capacity_floats) {
    if (capacity_ == 0) return;
    void* p = std::aligned_alloc(64, (capacity_ * sizeof(float) + 63) / 64 * 64);
    if (!p) throw std::bad_alloc();
    block_.reset(static_cast<float*>(p));
}

Arena Arena::counting() {
    Arena arena;
    arena.counting_ = true;
    return arena;
}

size_t Arena::matrix_floats(int64_t rows, int64_t cols) {
    return static_cast<size_t>(rows) * static_cast<size_t>(padded_cols(cols));
}

Tensor Arena::matrix(int64_t rows, int64_t cols) {
    EMBER_CHECK(rows >= 0 && cols >= 0, "arena: negative matrix size ", rows, " x ", cols);
    const size_t need = matrix_floats(rows, cols);
    if (counting_) {
        used_ += need;
        return {nullptr, rows, cols, padded_cols(cols)};
    }
    EMBER_CHECK(used_ + need <= capacity_, "arena: out of scratch memory (", used_, " + ", need,
                " floats > capacity ", capacity_, "); the scratch plan is wrong");
    Tensor t{block_.get() + used_, rows, cols, padded_cols(cols)};
    used_ += need;
    return t;
}

}  // namespace ember
