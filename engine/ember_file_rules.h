// Rules of the .ember format (docs/FORMAT.md) that its reader
// (ember_file_read.cpp) and writer (ember_file_write.cpp) share: sizes,
// alignment, what a valid name or key is, and how they appear in messages.
// Internal to engine/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ember_file.h"
#include "kernels/kernels.h"

// The file is little-endian and is read by memcpy into host integers and floats.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ember reads .ember files on little-endian hosts only");
static_assert(sizeof(float) == 4 && sizeof(double) == 8, "float32/float64 must be IEEE-754 single/double");

namespace ember::ember_format {

constexpr uint64_t float_bytes = 4;
constexpr uint64_t panel_width = kernels::kPanelWidth;
// A panels tensor's rows, padded to whole panels: in 64 bits, before the
// product with the columns is checked for overflow.
inline uint64_t panel_rows(uint64_t rows) { return (rows + panel_width - 1) / panel_width * panel_width; }
inline uint64_t align_up(uint64_t n) { return (n + ember_alignment - 1) / ember_alignment * ember_alignment; }

bool is_valid_utf8(std::string_view text);

// Each returns nullptr when the text is acceptable, else what is wrong with it.
const char* name_problem(std::string_view name);
const char* key_problem(std::string_view key);

// A name or key for a message: quoted, with unprintable bytes escaped (a
// corrupted file can hold anything).
std::string quoted(std::string_view text);

// "[2, 3]"
template <class Int>
std::string shape_string(const std::vector<Int>& shape) {
    std::string out = "[";
    for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
    return out + "]";
}

}  // namespace ember::ember_format
