// Little-endian loads from unaligned bytes, for the binary formats read here
// (zip records, pickle operands, tensor data). Callers check bounds first.
#pragma once

#include <cstdint>
#include <cstring>

namespace ember::le {

inline uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t u32(const uint8_t* p) { return u16(p) | (static_cast<uint32_t>(u16(p + 2)) << 16); }
inline uint64_t u64(const uint8_t* p) { return u32(p) | (static_cast<uint64_t>(u32(p + 4)) << 32); }

// True when [offset, offset + length) lies inside [0, size), without overflow.
inline bool fits(uint64_t offset, uint64_t length, uint64_t size) {
    return offset <= size && length <= size - offset;
}

}  // namespace ember::le
