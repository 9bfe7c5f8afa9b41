// Writing .ember files: validated as the reader would, laid out as
// docs/FORMAT.md gives, written to PATH.tmp and renamed over PATH.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "engine/ember_file.h"
#include "engine/ember_file_rules.h"
#include "engine/error.h"
#include "kernels/kernels.h"

namespace ember {
namespace {

using namespace ember_format;


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
