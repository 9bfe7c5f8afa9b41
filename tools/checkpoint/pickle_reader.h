// A pickle reader that executes nothing: it rebuilds plain data (None, bools,
// ints, floats, strings, tuples, lists, dicts) and, of all callables, only the
// few torch.save uses for a state_dict. Tensors come back as descriptions
// (storage key, offset, shape, stride) for the caller to fill from the zip.
// Any other global becomes an inert placeholder that is never called.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ember {

// Values live in one array and refer to each other by index, so a crafted
// file can nest or alias them arbitrarily deeply without recursion here or in
// the destructor. No opcode copies a string already read: a short opcode that
// re-uses a long memoized string costs no more than its own bytes.
using PickleRef = uint32_t;

struct PickleValue {
    enum class Kind : uint8_t {
        none,
        boolean,
        integer,
        floating,
        string,
        bytes,
        tuple,
        list,
        dict,
        set,
        global,   // a reference to a callable or class, never called
        object,   // the inert result of calling or instantiating a disallowed global
        storage,  // a torch storage from a persistent id
        tensor,
    };
    Kind kind = Kind::none;
    // boolean, integer; storage/tensor: index into Pickle::storages/tensors;
    // object: the PickleRef of the global behind it
    int64_t integer = 0;
    double floating = 0.0;
    std::string text;              // string, bytes; global: "module.name"
    std::vector<PickleRef> items;  // tuple, list, set; dict as key, value, key, value, ...
};

struct PickleStorage {
    PickleRef type = 0;  // a global: the storage class, e.g. torch.FloatStorage
    PickleRef key = 0;   // a string: the zip entry <stem>/data/<key> holds the bytes
    int64_t numel = 0;
};

struct PickleTensor {
    size_t storage = 0;  // index into Pickle::storages
    int64_t offset = 0;  // in elements
    std::vector<int64_t> shape;
    std::vector<int64_t> stride;  // in elements
};

struct Pickle {
    std::vector<PickleValue> values;
    std::vector<PickleStorage> storages;
    std::vector<PickleTensor> tensors;
    PickleRef root = 0;  // what STOP returned
};

// Runs the pickle in `data`. Throws ember::Error prefixed with `origin` and
// the byte offset on malformed input or an unsupported opcode.
Pickle read_pickle(const uint8_t* data, size_t size, const std::string& origin);

}  // namespace ember
