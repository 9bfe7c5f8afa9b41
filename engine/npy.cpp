#include "engine/npy.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>

#include "engine/error.h"
#include "engine/mapped_file.h"

namespace ember {

namespace {

// Value of `key` in the header dict, e.g. "'descr': '<f4'" -> "'<f4'". The
// header is a Python dict literal; numpy always writes these three keys.
std::string header_field(const std::string& header, const std::string& key, const std::string& path) {
    const std::string quoted = "'" + key + "'";
    size_t at = header.find(quoted);
    if (at == std::string::npos) fail(path, ": .npy header has no ", quoted, " field");
    at = header.find(':', at + quoted.size());
    if (at == std::string::npos) fail(path, ": malformed .npy header");
    ++at;
    while (at < header.size() && header[at] == ' ') ++at;
    size_t end = at;
    if (at < header.size() && header[at] == '(') {
        end = header.find(')', at);
        if (end == std::string::npos) fail(path, ": malformed shape in .npy header");
        ++end;
    } else {
        while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
    }
    return header.substr(at, end - at);
}

std::vector<int64_t> parse_shape(const std::string& text, const std::string& path) {
    std::vector<int64_t> shape;
    size_t i = 1;  // after '('
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == ',')) ++i;
        if (i >= text.size() || text[i] == ')') break;
        int64_t value = 0;
        size_t start = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            if (value > (std::numeric_limits<int64_t>::max() - 9) / 10) fail(path, ": .npy dimension too large");
            value = value * 10 + (text[i++] - '0');
        }
        if (i == start) fail(path, ": malformed shape ", text, " in .npy header");
        shape.push_back(value);
    }
    return shape;
}

}  // namespace

NpyArray parse_npy(const uint8_t* data, size_t size, const std::string& origin) {
    const std::string& path = origin;
    if (size < 8 || std::memcmp(data, "\x93NUMPY", 6) != 0) fail(path, ": not a NumPy .npy file (bad magic)");
    const int major = data[6];
    size_t at = 8;
    uint32_t header_length = 0;
    if (major == 1) {
        if (size - at < 2) fail(path, ": truncated .npy header");
        header_length = data[at] | (data[at + 1] << 8);
        at += 2;
    } else if (major == 2 || major == 3) {
        if (size - at < 4) fail(path, ": truncated .npy header");
        header_length = data[at] | (data[at + 1] << 8) | (data[at + 2] << 16) |
                        (static_cast<uint32_t>(data[at + 3]) << 24);
        at += 4;
        if (header_length > (1u << 20)) fail(path, ": .npy header of ", header_length, " bytes is implausible");
    } else {
        fail(path, ": unsupported .npy format version ", major);
    }
    if (size - at < header_length) fail(path, ": truncated .npy header");
    const std::string header(reinterpret_cast<const char*>(data + at), header_length);
    at += header_length;

    const std::string descr = header_field(header, "descr", path);
    if (descr != "'<f4'")
        fail(path, ": .npy dtype is ", descr, ", expected float32 ('<f4'); convert with arr.astype(np.float32)");
    if (header_field(header, "fortran_order", path) != "False")
        fail(path, ": .npy array is in Fortran order; save a C-ordered array (np.ascontiguousarray)");
    NpyArray array;
    array.shape = parse_shape(header_field(header, "shape", path), path);

    const uint64_t available = size - at;
    uint64_t count = 1;
    for (int64_t dim : array.shape) {
        if (dim != 0 && count > available / sizeof(float) / static_cast<uint64_t>(dim))
            fail(path, ": .npy data is truncated (shape needs more bytes than the file has)");
        count *= static_cast<uint64_t>(dim);
    }
    if (count * sizeof(float) != available)
        fail(path, ": .npy data holds ", available, " bytes but its shape needs ", count * sizeof(float));
    array.values.resize(count);
    if (count) std::memcpy(array.values.data(), data + at, count * sizeof(float));
    return array;
}

NpyArray read_npy(const std::string& path) {
    // MappedFile names the path and the reason (missing, a directory, empty, ...).
    const MappedFile file(path);
    return parse_npy(file.data(), file.size(), path);
}

void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
    std::string shape_text = "(";
    uint64_t count = 1;
    for (size_t i = 0; i < shape.size(); ++i) {
        shape_text += std::to_string(shape[i]) + (shape.size() == 1 ? ",)" : (i + 1 < shape.size() ? ", " : ")"));
        count *= static_cast<uint64_t>(shape[i]);
    }
    if (shape.empty()) shape_text += ")";
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_text + ", }";
    // Pad with spaces so that the data starts on a 64-byte boundary; end with a newline.
    const size_t unpadded = 10 + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header += '\n';

    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) fail(path, ": cannot write: ", std::strerror(errno));
    const uint16_t length = static_cast<uint16_t>(header.size());
    const char preamble[10] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<char>(length & 0xff),
                               static_cast<char>(length >> 8)};
    out.write(preamble, 10);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(count * sizeof(float)));
    out.flush();
    if (!out) fail(path, ": error writing (disk full?)");
}

}  // namespace ember
