// The .ember container: typed metadata and a table of float32 tensors in one
// flat little-endian file, used through mmap without copying. This layer knows
// nothing of the model; docs/FORMAT.md describes the bytes. ember_file_read.cpp
// reads and checks a file, ember_file_write.cpp writes one, ember_file_rules.h
// holds what the two share.
//
//     ember::write_ember_file("m.ember",
//         {{"general.architecture", ember::MetadataValue::make_string("emformer_rnnt")}},
//         {{"joiner.linear.weight", {4097, 1024}, weights}});
//
//     ember::EmberFile file = ember::open_ember_file("m.ember");  // throws ember::Error
//     const ember::TensorInfo* w = file.find_tensor("joiner.linear.weight");
//     // w->data points into the mapping: (4097, 1024), 64-byte aligned
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/mapped_file.h"

namespace ember {

// Format constants (docs/FORMAT.md).
constexpr char ember_magic[4] = {'E', 'M', 'B', 'R'};
constexpr uint32_t ember_version_major = 2;  // 2.0 added the float32_panels16 layout
constexpr uint32_t ember_version_minor = 0;
constexpr uint32_t ember_oldest_major = 1;  // 1.x files (float32 tensors only) still load
constexpr uint64_t ember_alignment = 64;  // data_offset, tensor offsets
constexpr uint64_t ember_header_size = 48;
constexpr uint32_t ember_max_name_length = 256;  // metadata keys and tensor names, bytes
constexpr uint32_t ember_max_dims = 8;

struct MetadataValue {
    enum class Type : uint32_t {
        boolean = 0,
        int64 = 1,
        float64 = 2,
        string = 3,
        float32_array = 4,
        int32_array = 5,
        string_array = 6,
    };

    // Only the field matching `type` is meaningful.
    Type type = Type::int64;
    bool boolean = false;
    int64_t int64 = 0;
    double float64 = 0.0;
    std::string string;
    std::vector<float> float32s;
    std::vector<int32_t> int32s;
    std::vector<std::string> strings;

    static MetadataValue make_bool(bool value);
    static MetadataValue make_int64(int64_t value);
    static MetadataValue make_float64(double value);
    static MetadataValue make_string(std::string value);
    static MetadataValue make_float32_array(std::vector<float> values);
    static MetadataValue make_int32_array(std::vector<int32_t> values);
    static MetadataValue make_string_array(std::vector<std::string> values);
};

// "bool", "int64", "float64", "string", "float32 array", "int32 array",
// "string array"; "unknown" for anything else. For messages.
const char* metadata_type_name(MetadataValue::Type type);

// How a tensor's floats are laid out: the file's `dtype` field.
enum class TensorLayout : uint32_t {
    float32 = 0,           // row-major
    float32_panels16 = 1,  // a 2-D (N, K) matrix in kernels::pack_linear_weights's panels (format 2.0)
};

// "float32", "float32_panels16"; "unknown" for anything else. For messages.
const char* tensor_layout_name(TensorLayout layout);

// Floats a tensor of this shape takes in this layout: numel for float32,
// ceil(N / 16) * 16 * K for panels (the last panel padded with zeros).
int64_t stored_floats(TensorLayout layout, const std::vector<int64_t>& shape);

struct TensorInfo {
    std::string name;             // torchaudio state_dict key
    std::vector<int64_t> shape;   // 1..8 dims, each >= 1; (N, K) for panels
    TensorLayout layout = TensorLayout::float32;
    uint64_t offset = 0;          // bytes from data_offset, multiple of 64
    const float* data = nullptr;  // into the mapping, 64-byte aligned, stored_floats() floats
    int64_t numel() const;
    int64_t stored_floats() const;
};

struct EmberFile {
    MappedFile mapping;  // owns the bytes every TensorInfo::data points into
    uint32_t version_major = 0;
    uint32_t version_minor = 0;
    std::string origin;                                           // path (or a label for in-memory bytes), for messages
    std::vector<std::pair<std::string, MetadataValue>> metadata;  // file order
    std::vector<TensorInfo> tensors;                              // file order

    const MetadataValue* find_metadata(const std::string& key) const;  // nullptr if absent
    const TensorInfo* find_tensor(const std::string& name) const;      // nullptr if absent
};

// Maps the file and validates all of it (docs/FORMAT.md, "Validation"): throws
// ember::Error naming the file and the problem. Tensor bytes are not read.
EmberFile open_ember_file(const std::string& path);
// The same over any mapping; `origin` names it in messages.
EmberFile parse_ember_file(MappedFile mapping, const std::string& origin);

struct TensorToWrite {
    std::string name;
    std::vector<int64_t> shape;
    const float* data = nullptr;  // numel floats, row-major; any alignment
    TensorLayout layout = TensorLayout::float32;  // panels: the writer packs `data` (2-D only)
};

// Writes a file of version ember_version_major.ember_version_minor: to
// PATH.tmp, then renamed over PATH, so PATH is either the old file or the
// complete new one. Validates names, keys, shapes and values by the same
// rules as the reader; throws ember::Error (and leaves
// no PATH.tmp behind) on invalid input or an I/O failure. Calls
// progress(fraction of tensor bytes written) as data is written, ending with 1.
void write_ember_file(const std::string& path, const std::vector<std::pair<std::string, MetadataValue>>& metadata,
                      const std::vector<TensorToWrite>& tensors, const std::function<void(double)>& progress = {});

}  // namespace ember
