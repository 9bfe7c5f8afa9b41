// Reading .ember files: every field is checked against the bytes that are
// there before it is used, and every error names the file and the entry.
#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "engine/ember_file.h"
#include "engine/ember_file_rules.h"
#include "engine/error.h"

namespace ember {
namespace {

using namespace ember_format;

// Smallest possible entries (1-byte name, bool value / 1-dim tensor): bound the
// counts in the header by the bytes the tables can hold before anything is allocated.
constexpr uint64_t min_metadata_entry_bytes = 4 + 1 + 4 + 1;
constexpr uint64_t min_tensor_entry_bytes = 4 + 1 + 4 + 4 + 8 + 8;

// Walks the metadata and tensor tables, which must end by data_offset. Every
// read is checked against the bytes left first.
class TableReader {
public:
    TableReader(const uint8_t* file, uint64_t begin, uint64_t end, const std::string& origin)
        : file_(file), position_(begin), end_(end), origin_(origin) {}

    std::string where;  // the entry being read, for messages

    uint64_t position() const { return position_; }
    uint64_t remaining() const { return end_ - position_; }

    const uint8_t* take(uint64_t n, const char* field) {
        if (n > remaining())
            fail(origin_, ": ", where, ": ", field, " (", n, " bytes at byte ", position_,
                 ") runs past the end of the tables at data_offset ", end_);
        const uint8_t* at = file_ + position_;
        position_ += n;
        return at;
    }

    template <class T>
    T scalar(const char* field) {
        T value;
        std::memcpy(&value, take(sizeof(T), field), sizeof(T));
        return value;
    }

    // A u64 count of items of at least `min_item_bytes` each, refused if that
    // many could not fit in what is left of the tables.
    uint64_t count(const char* field, uint64_t min_item_bytes) {
        const auto n = scalar<uint64_t>(field);
        if (n > remaining() / min_item_bytes)
            fail(origin_, ": ", where, ": ", field, " ", n, " needs at least ", min_item_bytes,
                 " bytes each, more than the ", remaining(), " bytes left before data_offset ", end_);
        return n;
    }

    std::string_view text(uint64_t length, const char* field) {
        return {reinterpret_cast<const char*>(take(length, field)), static_cast<size_t>(length)};
    }

    // A u32-length-prefixed metadata key or tensor name.
    std::string_view name(const char* field) {
        const auto length = scalar<uint32_t>(field);
        if (length == 0 || length > ember_max_name_length)
            fail(origin_, ": ", where, ": ", field, " ", length, " is not in 1..", ember_max_name_length);
        return text(length, field);
    }

    template <class T>
    std::vector<T> array(const char* field) {
        const uint64_t n = count(field, sizeof(T));
        std::vector<T> values(static_cast<size_t>(n));
        if (n) std::memcpy(values.data(), take(n * sizeof(T), field), n * sizeof(T));
        return values;
    }

    std::string utf8_string(const char* field) {
        const uint64_t length = count(field, 1);
        const std::string_view value = text(length, field);
        if (!is_valid_utf8(value))
            fail(origin_, ": ", where, ": string at byte ", position_ - length, " is not valid UTF-8");
        return std::string(value);
    }

private:
    const uint8_t* file_;
    uint64_t position_, end_;
    const std::string& origin_;
};

struct Header {
    uint32_t version_major, version_minor;
    uint64_t metadata_count, tensor_count, data_offset, data_size;
};

template <class T>
T header_field(const uint8_t* bytes, size_t at) {
    T value;
    std::memcpy(&value, bytes + at, sizeof(T));
    return value;
}

Header read_header(const uint8_t* bytes, uint64_t size, const std::string& origin) {
    if (size < 4 || std::memcmp(bytes, ember_magic, 4) != 0) {
        const std::string start = size < 4 ? "" : quoted({reinterpret_cast<const char*>(bytes), 4});
        fail(origin, ": not an .ember file (", size < 4 ? "too short for the magic" : "starts with " + start,
             ", expected 'EMBR')");
    }
    if (size < ember_header_size)
        fail(origin, ": truncated: the header needs ", ember_header_size, " bytes, the file has ", size);

    Header h;
    h.version_major = header_field<uint32_t>(bytes, 4);
    h.version_minor = header_field<uint32_t>(bytes, 8);
    const auto flags = header_field<uint32_t>(bytes, 12);
    h.metadata_count = header_field<uint64_t>(bytes, 16);
    h.tensor_count = header_field<uint64_t>(bytes, 24);
    h.data_offset = header_field<uint64_t>(bytes, 32);
    h.data_size = header_field<uint64_t>(bytes, 40);

    if (h.version_major > ember_version_major)
        fail(origin, ": written in .ember format ", h.version_major, ".x, this ember reads ", ember_oldest_major,
             ".x to ", ember_version_major, ".x; upgrade ember");
    if (h.version_major < ember_oldest_major)
        fail(origin, ": .ember format ", h.version_major, ".", h.version_minor, " was never released; this ember reads ",
             ember_oldest_major, ".x to ", ember_version_major, ".x");
    if (flags != 0)
        fail(origin, ": header flags are ", flags, ", expected 0 (format ", h.version_major, ".x defines no flags)");

    if (h.data_offset % ember_alignment != 0 || h.data_offset < ember_header_size)
        fail(origin, ": data_offset ", h.data_offset, " is not a multiple of ", ember_alignment, " at or after the ",
             ember_header_size, "-byte header");
    if (h.data_offset > size)
        fail(origin, ": data_offset ", h.data_offset, " is past the end of the file (", size,
             " bytes); the file is truncated or corrupted");
    if (h.data_size != size - h.data_offset)
        fail(origin, ": the file is ", size, " bytes but the header says data_offset ", h.data_offset, " + data_size ",
             h.data_size, "; the file is ",
             h.data_size > size - h.data_offset ? "truncated or corrupted" : "corrupted or has bytes appended");

    const uint64_t table_bytes = h.data_offset - ember_header_size;
    if (h.metadata_count > table_bytes / min_metadata_entry_bytes)
        fail(origin, ": metadata_count ", h.metadata_count, " cannot fit in the ", table_bytes,
             " bytes before data_offset");
    if (h.tensor_count > table_bytes / min_tensor_entry_bytes)
        fail(origin, ": tensor_count ", h.tensor_count, " cannot fit in the ", table_bytes,
             " bytes before data_offset");
    return h;
}

MetadataValue read_value(TableReader& reader, const std::string& origin) {
    const auto type = reader.scalar<uint32_t>("value type");
    switch (static_cast<MetadataValue::Type>(type)) {
        case MetadataValue::Type::boolean: {
            const auto byte = reader.scalar<uint8_t>("bool value");
            if (byte > 1) fail(origin, ": ", reader.where, ": bool value is ", int(byte), ", expected 0 or 1");
            return MetadataValue::make_bool(byte == 1);
        }
        case MetadataValue::Type::int64: return MetadataValue::make_int64(reader.scalar<int64_t>("int64 value"));
        case MetadataValue::Type::float64: return MetadataValue::make_float64(reader.scalar<double>("float64 value"));
        case MetadataValue::Type::string: return MetadataValue::make_string(reader.utf8_string("string length"));
        case MetadataValue::Type::float32_array:
            return MetadataValue::make_float32_array(reader.array<float>("float32 array count"));
        case MetadataValue::Type::int32_array:
            return MetadataValue::make_int32_array(reader.array<int32_t>("int32 array count"));
        case MetadataValue::Type::string_array: {
            const uint64_t n = reader.count("string array count", 8);
            std::vector<std::string> strings;
            strings.reserve(static_cast<size_t>(n));
            for (uint64_t i = 0; i < n; ++i) strings.push_back(reader.utf8_string("string array element length"));
            return MetadataValue::make_string_array(std::move(strings));
        }
    }
    fail(origin, ": ", reader.where, ": unknown value type ", type, " (format 1.x defines 0..6)");
}

// "[offset A, B bytes)" with A absolute in the file.
std::string data_range(uint64_t data_offset, uint64_t offset, uint64_t bytes) {
    const std::string start = offset <= std::numeric_limits<uint64_t>::max() - data_offset
                                  ? std::to_string(data_offset + offset)
                                  : "data_offset + " + std::to_string(offset);
    return "[offset " + start + ", " + std::to_string(bytes) + " bytes)";
}

TensorInfo read_tensor(TableReader& reader, const Header& h, uint64_t file_size, const std::string& origin) {
    TensorInfo tensor;
    const auto dtype = reader.scalar<uint32_t>("dtype");
    if (dtype > 1)
        fail(origin, ": ", reader.where, ": dtype ", dtype,
             " is not supported (format 2.x defines 0 = float32, 1 = float32_panels16)");
    if (dtype == 1 && h.version_major < 2)
        fail(origin, ": ", reader.where, ": dtype 1 (float32_panels16) needs format 2.0 or later; the file is ",
             h.version_major, ".", h.version_minor);
    tensor.layout = static_cast<TensorLayout>(dtype);
    const auto n_dims = reader.scalar<uint32_t>("n_dims");
    if (n_dims == 0 || n_dims > ember_max_dims)
        fail(origin, ": ", reader.where, ": n_dims ", n_dims, " is not in 1..", ember_max_dims);
    if (tensor.layout == TensorLayout::float32_panels16 && n_dims != 2)
        fail(origin, ": ", reader.where, ": n_dims ", n_dims, ", but float32_panels16 holds 2-D matrices only");
    std::vector<uint64_t> dims(n_dims);
    for (auto& dim : dims) dim = reader.scalar<uint64_t>("dimension");
    tensor.offset = reader.scalar<uint64_t>("data offset");

    // numel <= data_size / 4 < 2^62, so the shape and numel fit in int64.
    const uint64_t max_numel = h.data_size / float_bytes;
    uint64_t numel = 1;
    for (uint64_t dim : dims) {
        if (dim == 0) fail(origin, ": ", reader.where, ": shape ", shape_string(dims), " has a zero dimension");
        if (dim > max_numel / numel)
            fail(origin, ": ", reader.where, ": shape ", shape_string(dims), " needs more than the ", h.data_size,
                 " bytes of the data section");
        numel *= dim;
    }
    uint64_t stored = numel;
    if (tensor.layout == TensorLayout::float32_panels16) {  // rows padded to whole panels of 16
        const uint64_t padded_rows = panel_rows(dims[0]);
        if (dims[1] > max_numel / padded_rows)
            fail(origin, ": ", reader.where, ": shape ", shape_string(dims), " in panels of ", panel_width,
                 " needs more than the ", h.data_size, " bytes of the data section");
        stored = padded_rows * dims[1];
    }
    const uint64_t bytes = stored * float_bytes;
    if (tensor.offset % ember_alignment != 0)
        fail(origin, ": ", reader.where, ": data offset ", tensor.offset, " is not a multiple of ", ember_alignment);
    if (tensor.offset > h.data_size || bytes > h.data_size - tensor.offset)
        fail(origin, ": ", reader.where, " data ", data_range(h.data_offset, tensor.offset, bytes),
             " runs past the end of the file (", file_size, " bytes)");
    tensor.shape.assign(dims.begin(), dims.end());
    return tensor;
}

void check_no_overlap(const std::vector<TensorInfo>& tensors, uint64_t data_offset, const std::string& origin) {
    std::vector<size_t> order(tensors.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors[a].offset < tensors[b].offset; });
    for (size_t k = 1; k < order.size(); ++k) {
        const TensorInfo& before = tensors[order[k - 1]];
        const TensorInfo& after = tensors[order[k]];
        const uint64_t before_bytes = static_cast<uint64_t>(before.stored_floats()) * float_bytes;
        if (before.offset + before_bytes > after.offset)
            fail(origin, ": tensor ", order[k - 1], " ", quoted(before.name), " data ",
                 data_range(data_offset, before.offset, before_bytes), " overlaps tensor ", order[k], " ",
                 quoted(after.name), " data ",
                 data_range(data_offset, after.offset, static_cast<uint64_t>(after.stored_floats()) * float_bytes));
    }
}

// The key or name that starts table entry i (`entry` "metadata entry" or
// "tensor"), checked by `problem_of` and against the names `seen` so far;
// reader.where then names the entry for the messages that follow.
std::string_view read_entry_name(TableReader& reader, const char* entry, uint64_t i, const char* what,
                                 const char* (*problem_of)(std::string_view),
                                 std::unordered_map<std::string_view, uint64_t>& seen, const std::string& origin) {
    reader.where = std::string(entry) + " " + std::to_string(i);
    const std::string length_field = std::string(what) + " length";
    const std::string_view name = reader.name(length_field.c_str());
    if (const char* problem = problem_of(name))
        fail(origin, ": ", reader.where, ": ", what, " ", quoted(name), " ", problem);
    reader.where += " " + quoted(name);
    if (const auto [at, added] = seen.emplace(name, i); !added)
        fail(origin, ": ", reader.where, ": the ", what, " also names ", entry, " ", at->second);
    return name;
}

}  // namespace

EmberFile open_ember_file(const std::string& path) { return parse_ember_file(MappedFile(path), path); }

EmberFile parse_ember_file(MappedFile mapping, const std::string& origin) {
    const uint8_t* bytes = mapping.data();
    const uint64_t size = mapping.size();
    const Header h = read_header(bytes, size, origin);

    EmberFile file;
    file.version_major = h.version_major;
    file.version_minor = h.version_minor;
    file.origin = origin;

    TableReader reader(bytes, ember_header_size, h.data_offset, origin);
    std::unordered_map<std::string_view, uint64_t> seen;  // views into the mapping
    for (uint64_t i = 0; i < h.metadata_count; ++i) {
        const std::string_view key = read_entry_name(reader, "metadata entry", i, "key", key_problem, seen, origin);
        MetadataValue value = read_value(reader, origin);
        file.metadata.emplace_back(std::string(key), std::move(value));
    }

    seen.clear();
    for (uint64_t i = 0; i < h.tensor_count; ++i) {
        const std::string_view name = read_entry_name(reader, "tensor", i, "name", name_problem, seen, origin);
        TensorInfo tensor = read_tensor(reader, h, size, origin);
        tensor.name = std::string(name);
        file.tensors.push_back(std::move(tensor));
    }

    for (uint64_t at = reader.position(); at < h.data_offset; ++at)
        if (bytes[at] != 0)
            fail(origin, ": byte ", at, " in the padding before data_offset ", h.data_offset, " is ", int(bytes[at]),
                 ", expected 0");
    check_no_overlap(file.tensors, h.data_offset, origin);

    for (TensorInfo& tensor : file.tensors) {
        const uint8_t* at = bytes + h.data_offset + tensor.offset;
        EMBER_CHECK(reinterpret_cast<uintptr_t>(at) % ember_alignment == 0, origin, ": tensor ", quoted(tensor.name),
                    " data is not 64-byte aligned in memory");
        tensor.data = reinterpret_cast<const float*>(at);
    }
    file.mapping = std::move(mapping);  // moving keeps the bytes where they are
    return file;
}

}  // namespace ember
