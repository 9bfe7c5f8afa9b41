// Ties the zip container and the pickle together: finds <stem>/data.pkl, runs
// it, picks the state_dict out of what it built and copies each tensor out of
// its <stem>/data/<key> entry as contiguous float32.
#include "tools/checkpoint/torch_checkpoint.h"

#include <cmath>
#include <cstring>
#include <utility>

#include "engine/error.h"
#include "engine/mapped_file.h"
#include "tools/checkpoint/little_endian.h"
#include "tools/checkpoint/pickle_reader.h"
#include "tools/checkpoint/zip_reader.h"

namespace ember {
namespace {

using Kind = PickleValue::Kind;

float load_f32(const uint8_t* p) {
    const uint32_t bits = le::u32(p);
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

float load_bf16(const uint8_t* p) {
    const uint32_t bits = static_cast<uint32_t>(le::u16(p)) << 16;  // bfloat16 is float32's top half
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

float load_f16(const uint8_t* p) {
    const uint16_t half = le::u16(p);
    const float sign = (half & 0x8000) ? -1.0f : 1.0f;
    const int exponent = (half >> 10) & 0x1F;
    const int mantissa = half & 0x3FF;
    if (exponent == 0) return sign * std::ldexp(static_cast<float>(mantissa), -24);  // zero, subnormal
    if (exponent == 0x1F) return mantissa ? NAN : sign * INFINITY;
    return sign * std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
}

// Copies a (possibly strided) view row by row: the innermost dimension is a
// strided run, the outer dimensions step like an odometer. `Load` is a
// template argument so the inner loop has no indirect call.
template <float (*Load)(const uint8_t*), size_t Bytes>
void gather(const uint8_t* storage, const PickleTensor& t, size_t numel, float* out) {
    if (t.shape.empty()) {
        out[0] = Load(storage + t.offset * Bytes);
        return;
    }
    const size_t dims = t.shape.size();
    const int64_t inner = t.shape.back();
    const int64_t inner_stride = t.stride.back();
    std::vector<int64_t> index(dims - 1, 0);
    int64_t base = t.offset;
    for (size_t done = 0; done < numel; done += inner) {
        const uint8_t* row = storage + base * Bytes;
        if (inner_stride == 1) {
            for (int64_t i = 0; i < inner; ++i) out[i] = Load(row + i * Bytes);
        } else {
            for (int64_t i = 0; i < inner; ++i) out[i] = Load(row + i * inner_stride * Bytes);
        }
        out += inner;
        for (size_t d = dims - 1; d-- > 0;) {
            if (++index[d] < t.shape[d]) {
                base += t.stride[d];
                break;
            }
            base -= (t.shape[d] - 1) * t.stride[d];
            index[d] = 0;
        }
    }
}

using Gather = void (*)(const uint8_t*, const PickleTensor&, size_t, float*);
struct Dtype {
    const char* storage;  // the torch storage class that holds it
    size_t bytes;
    Gather gather;
};
constexpr Dtype kDtypes[] = {
    {"torch.FloatStorage", 4, gather<load_f32, 4>},
    {"torch.HalfStorage", 2, gather<load_f16, 2>},
    {"torch.BFloat16Storage", 2, gather<load_bf16, 2>},
};

const char* describe(Kind kind) {
    switch (kind) {
    case Kind::none: return "None";
    case Kind::boolean: return "a bool";
    case Kind::integer: return "an integer";
    case Kind::floating: return "a float";
    case Kind::string: return "a string";
    case Kind::bytes: return "bytes";
    case Kind::tuple: return "a tuple";
    case Kind::list: return "a list";
    case Kind::dict: return "a dict";
    case Kind::set: return "a set";
    case Kind::global: return "a global";
    case Kind::object: return "an object";
    case Kind::storage: return "a storage";
    case Kind::tensor: return "a tensor";
    }
    return "unknown";
}

class Loader {
public:
    Loader(const uint8_t* data, size_t size, const std::string& origin)
        : size_(size), origin_(origin), zip_(data, size, origin) {}

    std::map<std::string, CheckpointTensor> load() {
        find_stem();
        const ZipEntry& pkl = *zip_.find(stem_ + "data.pkl");
        pickle_ = read_pickle(zip_.read(pkl), pkl.size, origin_ + ": " + pkl.name);

        PickleRef weights = pickle_.root;
        const PickleValue& root = value(weights);
        if (root.kind != Kind::dict) unexpected("the checkpoint", root, "a state_dict");
        const bool lightning = find_key(root, "state_dict", &weights);
        if (lightning && value(weights).kind != Kind::dict)
            unexpected("\"state_dict\"", value(weights), "a dict");

        std::map<std::string, PickleRef> named;  // a repeated key: the last one wins, as in Python
        const std::vector<PickleRef>& pairs = value(weights).items;
        for (size_t i = 0; i < pairs.size(); i += 2) {
            const PickleValue& key = value(pairs[i]);
            if (key.kind != Kind::string) fail(origin_, ": state_dict has a key that is not a string");
            named[key.text] = pairs[i + 1];
        }
        std::map<std::string, CheckpointTensor> tensors;
        for (const auto& [key, ref] : named) {
            const std::string name = lightning && key.rfind("model.", 0) == 0 ? key.substr(6) : key;
            const PickleValue& tensor = value(ref);
            if (tensor.kind != Kind::tensor) unexpected("'" + key + "'", tensor, "a tensor");
            if (tensors.count(name))
                fail(origin_, ": two tensors are named '", name, "' once \"model.\" is stripped");
            tensors.emplace(name, materialize(pickle_.tensors[tensor.integer], key));
        }
        return tensors;
    }

private:
    const PickleValue& value(PickleRef ref) const { return pickle_.values[ref]; }

    // The archive's top folder is named after the file torch.save wrote
    // ("archive" for buffers), so it is found rather than assumed.
    void find_stem() {
        for (const ZipEntry& entry : zip_.entries()) {
            const size_t slash = entry.name.find('/');
            if (slash == std::string::npos || entry.name.compare(slash, std::string::npos, "/data.pkl") != 0)
                continue;
            if (!stem_.empty()) fail(origin_, ": zip archive holds more than one <stem>/data.pkl");
            stem_ = entry.name.substr(0, slash + 1);
        }
        if (stem_.empty()) fail(origin_, ": zip archive has no <stem>/data.pkl; not a torch.save checkpoint");
        if (const ZipEntry* order = zip_.find(stem_ + "byteorder")) {
            const std::string text(reinterpret_cast<const char*>(zip_.read(*order)), order->size);
            if (text != "little")
                fail(origin_, ": tensors are stored ", text, "-endian; only little-endian is supported");
        }
    }

    // The value of `dict[wanted]` (the last one when repeated), if present.
    bool find_key(const PickleValue& dict, const std::string& wanted, PickleRef* found) const {
        bool present = false;
        for (size_t i = 0; i < dict.items.size(); i += 2) {
            const PickleValue& key = value(dict.items[i]);
            if (key.kind == Kind::string && key.text == wanted) {
                *found = dict.items[i + 1];
                present = true;
            }
        }
        return present;
    }

    // What stands where a tensor or dict should be, said so that a
    // disallowed global is named as the cause.
    [[noreturn]] void unexpected(const std::string& what, const PickleValue& got, const char* wanted) const {
        if (got.kind == Kind::global)
            fail(origin_, ": pickle global ", got.text, " is not allowed (", what, ")");
        if (got.kind == Kind::object)
            fail(origin_, ": pickle global ", value(static_cast<PickleRef>(got.integer)).text,
                 " is not allowed (", what, " is built by calling it)");
        fail(origin_, ": ", what, " is ", describe(got.kind), ", not ", wanted);
    }

    // A storage's bytes, CRC-checked once however many tensors view it.
    const uint8_t* storage_bytes(const ZipEntry& entry) {
        auto found = verified_.find(&entry);
        if (found == verified_.end()) found = verified_.emplace(&entry, zip_.read(entry)).first;
        return found->second;
    }

    CheckpointTensor materialize(const PickleTensor& t, const std::string& name) {
        const PickleStorage& storage = pickle_.storages[t.storage];
        const std::string& type = value(storage.type).text;
        const Dtype* dtype = nullptr;
        for (const Dtype& d : kDtypes)
            if (type == d.storage) dtype = &d;
        if (!dtype && type.rfind("torch.", 0) != 0)
            fail(origin_, ": pickle global ", type, " is not allowed (storage of tensor '", name, "')");
        if (!dtype)
            fail(origin_, ": tensor '", name, "' has unsupported dtype ", type,
                 " (float32, float16 and bfloat16 are read)");
        const std::string where = origin_ + ": tensor '" + name + "'";
        const std::string& key = value(storage.key).text;
        const ZipEntry* found = zip_.find(stem_ + "data/" + key);
        if (!found) fail(where, ": no zip entry ", stem_, "data/", key, " for its storage");
        const ZipEntry& entry = *found;
        const uint64_t numel = static_cast<uint64_t>(storage.numel);
        if (numel > entry.size / dtype->bytes)
            fail(where, ": storage of ", numel, " elements needs more than the ", entry.size, " bytes of ",
                 entry.name);

        // Every element the view reaches must lie inside the storage.
        if (t.offset < 0) fail(where, ": negative storage offset ", t.offset);
        uint64_t count = 1;
        uint64_t last = static_cast<uint64_t>(t.offset);
        for (size_t d = 0; d < t.shape.size(); ++d) {
            if (t.shape[d] < 0 || t.stride[d] < 0) fail(where, ": negative size or stride in dimension ", d);
            uint64_t reach = 0;
            if (__builtin_mul_overflow(static_cast<uint64_t>(t.shape[d]), count, &count) ||
                (t.shape[d] > 0 && (__builtin_mul_overflow(static_cast<uint64_t>(t.shape[d] - 1),
                                                           static_cast<uint64_t>(t.stride[d]), &reach) ||
                                    __builtin_add_overflow(last, reach, &last))))
                fail(where, ": size and stride overflow");
        }
        CheckpointTensor out;
        out.shape = t.shape;
        if (count == 0) return out;
        if (last >= numel) fail(where, ": view reaches element ", last, " of a storage of ", numel);
        // Views that repeat elements (stride 0), or many views of one
        // storage, could make a small file expand without bound. Real
        // checkpoints copy out at most one element per two bytes of file
        // (twice that if a weight and, say, its transpose share a storage).
        if (count > numel) fail(where, ": has more elements (", count, ") than its storage (", numel, ")");
        expanded_ += count;
        if (expanded_ > size_) fail(origin_, ": tensors hold more elements than the file has bytes");

        out.values.resize(count);
        dtype->gather(storage_bytes(entry), t, count, out.values.data());
        return out;
    }

    size_t size_;
    const std::string& origin_;
    ZipArchive zip_;
    std::string stem_;  // "<stem>/"
    Pickle pickle_;
    uint64_t expanded_ = 0;  // elements copied out so far
    std::map<const ZipEntry*, const uint8_t*> verified_;
};

}  // namespace

std::map<std::string, CheckpointTensor> read_torch_checkpoint_bytes(const uint8_t* data, size_t size,
                                                                    const std::string& origin) {
    // Before 1.6, torch.save wrote a bare pickle stream (it starts with PROTO).
    if (size >= 2 && data[0] == 0x80 && data[1] <= 5)
        fail(origin, ": legacy (pre-1.6) torch.save format; re-save it with PyTorch >= 1.6");
    return Loader(data, size, origin).load();
}

std::map<std::string, CheckpointTensor> read_torch_checkpoint(const std::string& path) {
    const MappedFile file(path);
    return read_torch_checkpoint_bytes(file.data(), file.size(), path);
}

}  // namespace ember
