#include "engine/ember_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "engine/error.h"
#include "kernels/kernels.h"

// The file is little-endian and is read by memcpy into host integers and floats.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ember reads .ember files on little-endian hosts only");
static_assert(sizeof(float) == 4 && sizeof(double) == 8, "float32/float64 must be IEEE-754 single/double");

namespace ember {
namespace {

constexpr uint64_t float_bytes = 4;
constexpr uint64_t panel_width = kernels::kPanelWidth;
// A panels tensor's rows, padded to whole panels: in 64 bits, before the
// product with the columns is checked for overflow.
uint64_t panel_rows(uint64_t rows) { return (rows + panel_width - 1) / panel_width * panel_width; }
// Smallest possible entries (1-byte name, bool value / 1-dim tensor): bound the
// counts in the header by the bytes the tables can hold before anything is allocated.
constexpr uint64_t min_metadata_entry_bytes = 4 + 1 + 4 + 1;
constexpr uint64_t min_tensor_entry_bytes = 4 + 1 + 4 + 4 + 8 + 8;

// ---------------------------------------------------------------------------
// Rules shared by reader and writer

uint64_t align_up(uint64_t n) { return (n + ember_alignment - 1) / ember_alignment * ember_alignment; }

bool is_valid_utf8(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        const auto byte = static_cast<unsigned char>(text[i]);
        size_t extra = 0;
        uint32_t code = 0;
        if (byte < 0x80) {
            ++i;
            continue;
        } else if ((byte & 0xE0) == 0xC0) {
            extra = 1, code = byte & 0x1F;
        } else if ((byte & 0xF0) == 0xE0) {
            extra = 2, code = byte & 0x0F;
        } else if ((byte & 0xF8) == 0xF0) {
            extra = 3, code = byte & 0x07;
        } else {
            return false;
        }
        if (text.size() - i <= extra) return false;
        for (size_t k = 1; k <= extra; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0) != 0x80) return false;
            code = (code << 6) | (next & 0x3F);
        }
        const uint32_t smallest[] = {0, 0x80, 0x800, 0x10000};
        if (code < smallest[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
        i += extra + 1;
    }
    return true;
}

// Each returns nullptr when the text is acceptable, else what is wrong with it.
const char* name_problem(std::string_view name) {
    if (name.empty() || name.size() > ember_max_name_length) return "must be 1 to 256 bytes long";
    if (!is_valid_utf8(name)) return "is not valid UTF-8";
    for (char c : name)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return "contains a control character";
    return nullptr;
}

const char* key_problem(std::string_view key) {
    if (const char* problem = name_problem(key)) return problem;
    bool part_empty = true;
    for (char c : key) {
        if (c == '.') {
            if (part_empty) break;
            part_empty = true;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
            part_empty = false;
        } else {
            part_empty = true;
            break;
        }
    }
    if (part_empty) return "is not dotted snake_case (parts of [a-z0-9_] joined by '.')";
    return nullptr;
}

// A name or key for a message: quoted, with unprintable bytes escaped (a
// corrupted file can hold anything).
std::string quoted(std::string_view text) {
    const bool utf8 = is_valid_utf8(text);
    std::string out = "'";
    for (char c : text.substr(0, ember_max_name_length)) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7F || c == '\\' || (byte >= 0x80 && !utf8)) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
            out += escaped;
        } else {
            out += c;
        }
    }
    if (text.size() > ember_max_name_length) out += "...";
    return out + "'";
}

std::string shape_string(const std::vector<int64_t>& shape) {
    std::string out = "[";
    for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
    return out + "]";
}

std::string shape_string(const std::vector<uint64_t>& dims) {
    std::string out = "[";
    for (size_t i = 0; i < dims.size(); ++i) out += (i ? ", " : "") + std::to_string(dims[i]);
    return out + "]";
}

// ---------------------------------------------------------------------------
// Reading

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

// ---------------------------------------------------------------------------
// Writing

class ByteBuffer {
public:
    template <class T>
    void scalar(T value) {
        const auto* bytes = reinterpret_cast<const uint8_t*>(&value);
        bytes_.insert(bytes_.end(), bytes, bytes + sizeof(T));
    }
    void raw(const void* data, size_t n) {
        const auto* bytes = static_cast<const uint8_t*>(data);
        bytes_.insert(bytes_.end(), bytes, bytes + n);
    }
    void name(const std::string& text) {
        scalar(static_cast<uint32_t>(text.size()));
        raw(text.data(), text.size());
    }
    void string(const std::string& text) {
        scalar(static_cast<uint64_t>(text.size()));
        raw(text.data(), text.size());
    }
    void pad_to(uint64_t size) { bytes_.resize(size, 0); }
    std::vector<uint8_t>& bytes() { return bytes_; }

private:
    std::vector<uint8_t> bytes_;
};

void encode_value(ByteBuffer& out, const MetadataValue& value, const std::string& path, const std::string& key) {
    out.scalar(static_cast<uint32_t>(value.type));
    switch (value.type) {
        case MetadataValue::Type::boolean: out.scalar(static_cast<uint8_t>(value.boolean ? 1 : 0)); return;
        case MetadataValue::Type::int64: out.scalar(value.int64); return;
        case MetadataValue::Type::float64: out.scalar(value.float64); return;
        case MetadataValue::Type::string:
            if (!is_valid_utf8(value.string)) fail(path, ": metadata ", quoted(key), ": string is not valid UTF-8");
            out.string(value.string);
            return;
        case MetadataValue::Type::float32_array:
            out.scalar(static_cast<uint64_t>(value.float32s.size()));
            out.raw(value.float32s.data(), value.float32s.size() * sizeof(float));
            return;
        case MetadataValue::Type::int32_array:
            out.scalar(static_cast<uint64_t>(value.int32s.size()));
            out.raw(value.int32s.data(), value.int32s.size() * sizeof(int32_t));
            return;
        case MetadataValue::Type::string_array:
            out.scalar(static_cast<uint64_t>(value.strings.size()));
            for (const std::string& text : value.strings) {
                if (!is_valid_utf8(text)) fail(path, ": metadata ", quoted(key), ": string is not valid UTF-8");
                out.string(text);
            }
            return;
    }
    fail(path, ": metadata ", quoted(key), ": unknown value type ", static_cast<uint32_t>(value.type));
}

uint64_t tensor_bytes(const TensorToWrite& tensor, const std::string& path) {
    if (tensor.shape.empty() || tensor.shape.size() > ember_max_dims)
        fail(path, ": tensor ", quoted(tensor.name), ": shape ", shape_string(tensor.shape), " must have 1 to ",
             ember_max_dims, " dimensions");
    uint64_t bytes = float_bytes;
    for (int64_t dim : tensor.shape) {
        if (dim < 1)
            fail(path, ": tensor ", quoted(tensor.name), ": shape ", shape_string(tensor.shape),
                 " has a dimension below 1");
        if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(dim), &bytes) ||
            bytes > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            fail(path, ": tensor ", quoted(tensor.name), ": shape ", shape_string(tensor.shape), " is too large");
    }
    if (tensor.data == nullptr) fail(path, ": tensor ", quoted(tensor.name), ": data is null");
    if (tensor.layout == TensorLayout::float32) return bytes;
    if (tensor.layout != TensorLayout::float32_panels16)
        fail(path, ": tensor ", quoted(tensor.name), ": unknown layout ", static_cast<uint32_t>(tensor.layout));
    if (tensor.shape.size() != 2)
        fail(path, ": tensor ", quoted(tensor.name), ": shape ", shape_string(tensor.shape),
             " cannot be stored in panels: float32_panels16 holds 2-D matrices only");
    const uint64_t padded_rows = panel_rows(static_cast<uint64_t>(tensor.shape[0]));
    uint64_t stored_bytes = 0;
    if (__builtin_mul_overflow(padded_rows * float_bytes, static_cast<uint64_t>(tensor.shape[1]), &stored_bytes) ||
        stored_bytes > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(path, ": tensor ", quoted(tensor.name), ": shape ", shape_string(tensor.shape), " is too large");
    return stored_bytes;
}

// PATH.tmp, removed again unless commit() renamed it over PATH.
class TemporaryOutput {
public:
    explicit TemporaryOutput(const std::string& path) : path_(path), temporary_(path + ".tmp") {
        fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd_ < 0) fail(path_, ": cannot create ", temporary_, ": ", std::strerror(errno));
    }
    ~TemporaryOutput() {
        if (fd_ >= 0) ::close(fd_);
        if (!committed_) ::unlink(temporary_.c_str());
    }
    TemporaryOutput(const TemporaryOutput&) = delete;
    TemporaryOutput& operator=(const TemporaryOutput&) = delete;

    void write(const void* data, uint64_t n) {
        const auto* bytes = static_cast<const uint8_t*>(data);
        while (n > 0) {
            const ssize_t written = ::write(fd_, bytes, static_cast<size_t>(std::min<uint64_t>(n, 1u << 30)));
            if (written < 0 && errno == EINTR) continue;
            if (written <= 0)
                fail(path_, ": cannot write ", temporary_, ": ", std::strerror(written < 0 ? errno : EIO));
            bytes += written;
            n -= static_cast<uint64_t>(written);
        }
    }

    // Flushes to disk, then renames: PATH is the old file or the whole new one.
    void commit() {
        if (::fsync(fd_) != 0) fail(path_, ": cannot flush ", temporary_, ": ", std::strerror(errno));
        const int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0) fail(path_, ": cannot close ", temporary_, ": ", std::strerror(errno));
        if (::rename(temporary_.c_str(), path_.c_str()) != 0)
            fail(path_, ": cannot rename ", temporary_, " to it: ", std::strerror(errno));
        committed_ = true;
    }

private:
    std::string path_, temporary_;
    int fd_ = -1;
    bool committed_ = false;
};

}  // namespace

// ---------------------------------------------------------------------------

MetadataValue MetadataValue::make_bool(bool value) {
    MetadataValue v;
    v.type = Type::boolean;
    v.boolean = value;
    return v;
}
MetadataValue MetadataValue::make_int64(int64_t value) {
    MetadataValue v;
    v.type = Type::int64;
    v.int64 = value;
    return v;
}
MetadataValue MetadataValue::make_float64(double value) {
    MetadataValue v;
    v.type = Type::float64;
    v.float64 = value;
    return v;
}
MetadataValue MetadataValue::make_string(std::string value) {
    MetadataValue v;
    v.type = Type::string;
    v.string = std::move(value);
    return v;
}
MetadataValue MetadataValue::make_float32_array(std::vector<float> values) {
    MetadataValue v;
    v.type = Type::float32_array;
    v.float32s = std::move(values);
    return v;
}
MetadataValue MetadataValue::make_int32_array(std::vector<int32_t> values) {
    MetadataValue v;
    v.type = Type::int32_array;
    v.int32s = std::move(values);
    return v;
}
MetadataValue MetadataValue::make_string_array(std::vector<std::string> values) {
    MetadataValue v;
    v.type = Type::string_array;
    v.strings = std::move(values);
    return v;
}

const char* metadata_type_name(MetadataValue::Type type) {
    switch (type) {
        case MetadataValue::Type::boolean: return "bool";
        case MetadataValue::Type::int64: return "int64";
        case MetadataValue::Type::float64: return "float64";
        case MetadataValue::Type::string: return "string";
        case MetadataValue::Type::float32_array: return "float32 array";
        case MetadataValue::Type::int32_array: return "int32 array";
        case MetadataValue::Type::string_array: return "string array";
    }
    return "unknown";
}

const char* tensor_layout_name(TensorLayout layout) {
    switch (layout) {
        case TensorLayout::float32: return "float32";
        case TensorLayout::float32_panels16: return "float32_panels16";
    }
    return "unknown";
}

int64_t stored_floats(TensorLayout layout, const std::vector<int64_t>& shape) {
    if (layout == TensorLayout::float32_panels16) return kernels::packed_linear_floats(shape[0], shape[1]);
    int64_t n = 1;
    for (int64_t dim : shape) n *= dim;
    return n;
}

int64_t TensorInfo::numel() const { return ember::stored_floats(TensorLayout::float32, shape); }

int64_t TensorInfo::stored_floats() const { return ember::stored_floats(layout, shape); }

const MetadataValue* EmberFile::find_metadata(const std::string& key) const {
    for (const auto& [name, value] : metadata)
        if (name == key) return &value;
    return nullptr;
}

const TensorInfo* EmberFile::find_tensor(const std::string& name) const {
    for (const TensorInfo& tensor : tensors)
        if (tensor.name == name) return &tensor;
    return nullptr;
}

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
        reader.where = "metadata entry " + std::to_string(i);
        const std::string_view key = reader.name("key length");
        if (const char* problem = key_problem(key))
            fail(origin, ": ", reader.where, ": key ", quoted(key), " ", problem);
        reader.where += " " + quoted(key);
        if (const auto [at, added] = seen.emplace(key, i); !added)
            fail(origin, ": ", reader.where, ": the key also names metadata entry ", at->second);
        MetadataValue value = read_value(reader, origin);
        file.metadata.emplace_back(std::string(key), std::move(value));
    }

    seen.clear();
    for (uint64_t i = 0; i < h.tensor_count; ++i) {
        reader.where = "tensor " + std::to_string(i);
        const std::string_view name = reader.name("name length");
        if (const char* problem = name_problem(name))
            fail(origin, ": ", reader.where, ": name ", quoted(name), " ", problem);
        reader.where += " " + quoted(name);
        if (const auto [at, added] = seen.emplace(name, i); !added)
            fail(origin, ": ", reader.where, ": the name also names tensor ", at->second);
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

void write_ember_file(const std::string& path, const std::vector<std::pair<std::string, MetadataValue>>& metadata,
                      const std::vector<TensorToWrite>& tensors, const std::function<void(double)>& progress) {
    ByteBuffer table;
    table.pad_to(ember_header_size);

    std::unordered_map<std::string_view, size_t> seen;
    for (const auto& [key, value] : metadata) {
        if (const char* problem = key_problem(key)) fail(path, ": metadata key ", quoted(key), " ", problem);
        if (!seen.emplace(key, 0).second) fail(path, ": metadata key ", quoted(key), " appears twice");
        table.name(key);
        encode_value(table, value, path, key);
    }

    // Tensors in the order given, each at the next multiple of 64.
    seen.clear();
    std::vector<uint64_t> offsets, sizes;
    uint64_t data_size = 0;
    for (const TensorToWrite& tensor : tensors) {
        if (const char* problem = name_problem(tensor.name))
            fail(path, ": tensor name ", quoted(tensor.name), " ", problem);
        if (!seen.emplace(tensor.name, 0).second) fail(path, ": tensor ", quoted(tensor.name), " appears twice");
        const uint64_t bytes = tensor_bytes(tensor, path);
        const uint64_t offset = align_up(data_size);
        if (__builtin_add_overflow(offset, bytes, &data_size)) fail(path, ": tensors are too large in total");
        offsets.push_back(offset);
        sizes.push_back(bytes);

        table.name(tensor.name);
        table.scalar(static_cast<uint32_t>(tensor.layout));  // dtype
        table.scalar(static_cast<uint32_t>(tensor.shape.size()));
        for (int64_t dim : tensor.shape) table.scalar(static_cast<uint64_t>(dim));
        table.scalar(offset);
    }

    const uint64_t data_offset = align_up(table.bytes().size());
    table.pad_to(data_offset);
    std::vector<uint8_t>& head = table.bytes();
    std::memcpy(head.data(), ember_magic, 4);
    const uint32_t header32[] = {ember_version_major, ember_version_minor, 0};
    const uint64_t header64[] = {metadata.size(), tensors.size(), data_offset, data_size};
    std::memcpy(head.data() + 4, header32, sizeof header32);
    std::memcpy(head.data() + 16, header64, sizeof header64);

    TemporaryOutput out(path);
    out.write(head.data(), head.size());
    // Tensor bytes go straight from the caller's memory in large writes.
    constexpr uint64_t chunk = uint64_t{32} << 20;
    const uint8_t zeros[ember_alignment] = {};
    uint64_t written = 0;
    for (size_t i = 0; i < tensors.size(); ++i) {
        out.write(zeros, offsets[i] - written);
        written = offsets[i];
        const TensorToWrite& tensor = tensors[i];
        std::vector<float> packed;
        if (tensor.layout == TensorLayout::float32_panels16) {
            packed.resize(static_cast<size_t>(sizes[i] / float_bytes));
            kernels::pack_linear_weights(tensor.data, tensor.shape[1], tensor.shape[0], tensor.shape[1], packed.data());
        }
        const auto* bytes = reinterpret_cast<const uint8_t*>(packed.empty() ? tensor.data : packed.data());
        for (uint64_t done = 0; done < sizes[i];) {
            const uint64_t n = std::min(chunk, sizes[i] - done);
            out.write(bytes + done, n);
            done += n;
            written += n;
            if (progress) progress(static_cast<double>(written) / static_cast<double>(data_size));
        }
    }
    if (progress && data_size == 0) progress(1.0);
    out.commit();
}

}  // namespace ember
