#include "tools/checkpoint/pickle_reader.h"

#include <cstring>
#include <limits>
#include <map>
#include <utility>

#include "engine/error.h"
#include "tools/checkpoint/little_endian.h"

namespace ember {
namespace {

using Kind = PickleValue::Kind;

// The opcodes of protocols 2-5 (and the protocol-0 ones they share).
enum Op : uint8_t {
    MARK = '(',
    STOP = '.',
    POP = '0',
    POP_MARK = '1',
    DUP = '2',
    BININT = 'J',
    BININT1 = 'K',
    BININT2 = 'M',
    NONE = 'N',
    BINPERSID = 'Q',
    REDUCE = 'R',
    BINSTRING = 'T',
    SHORT_BINSTRING = 'U',
    BINUNICODE = 'X',
    EMPTY_LIST = ']',
    APPEND = 'a',
    BUILD = 'b',
    GLOBAL = 'c',
    DICT = 'd',
    EMPTY_DICT = '}',
    APPENDS = 'e',
    BINGET = 'h',
    LONG_BINGET = 'j',
    LIST = 'l',
    BINPUT = 'q',
    LONG_BINPUT = 'r',
    SETITEM = 's',
    TUPLE = 't',
    EMPTY_TUPLE = ')',
    SETITEMS = 'u',
    BINFLOAT = 'G',
    PROTO = 0x80,
    NEWOBJ = 0x81,
    TUPLE1 = 0x85,
    TUPLE2 = 0x86,
    TUPLE3 = 0x87,
    NEWTRUE = 0x88,
    NEWFALSE = 0x89,
    LONG1 = 0x8a,
    LONG4 = 0x8b,
    BINBYTES = 'B',
    SHORT_BINBYTES = 'C',
    SHORT_BINUNICODE = 0x8c,
    BINUNICODE8 = 0x8d,
    BINBYTES8 = 0x8e,
    EMPTY_SET = 0x8f,
    ADDITEMS = 0x90,
    FROZENSET = 0x91,
    NEWOBJ_EX = 0x92,
    STACK_GLOBAL = 0x93,
    MEMOIZE = 0x94,
    FRAME = 0x95,
    BYTEARRAY8 = 0x96,
};

constexpr uint8_t kHighestProtocol = 5;
constexpr PickleRef kUnset = std::numeric_limits<PickleRef>::max();
// More dimensions than any real tensor; keeps a crafted size tuple, re-used
// through the memo, from making every rebuild copy it.
constexpr size_t kMaxDims = 64;

class Machine {
public:
    Machine(const uint8_t* data, size_t size, const std::string& origin)
        : data_(data), size_(size), origin_(origin) {}

    Pickle run() {
        while (true) {
            op_start_ = pos_;
            const uint8_t op = take(1)[0];
            if (op == STOP) {
                out_.root = pop();
                return std::move(out_);
            }
            step(op);
        }
    }

private:
    template <class... Parts>
    [[noreturn]] void error(Parts&&... parts) const {
        fail(origin_, ": byte ", op_start_, ": ", std::forward<Parts>(parts)...);
    }

    // The next n operand bytes; n comes from the file, so it is checked
    // against what is left before anything is allocated.
    const uint8_t* take(uint64_t n) {
        if (n > size_ - pos_) error("truncated pickle (needs ", n, " more bytes, ", size_ - pos_, " left)");
        const uint8_t* p = data_ + pos_;
        pos_ += n;
        return p;
    }
    std::string take_string(uint64_t n) { return std::string(reinterpret_cast<const char*>(take(n)), n); }
    std::string take_line() {
        const void* newline = std::memchr(data_ + pos_, '\n', size_ - pos_);
        if (!newline) error("truncated pickle (GLOBAL name without a newline)");
        const size_t n = static_cast<const uint8_t*>(newline) - (data_ + pos_);
        std::string line = take_string(n);
        take(1);
        return line;
    }

    PickleRef add(PickleValue value) {
        if (out_.values.size() >= kUnset) error("too many values");
        out_.values.push_back(std::move(value));
        return static_cast<PickleRef>(out_.values.size() - 1);
    }
    PickleRef add(Kind kind, std::string text = {}, std::vector<PickleRef> items = {}) {
        PickleValue value;
        value.kind = kind;
        value.text = std::move(text);
        value.items = std::move(items);
        return add(std::move(value));
    }
    PickleRef add_integer(Kind kind, int64_t integer) {
        PickleValue value;
        value.kind = kind;
        value.integer = integer;
        return add(std::move(value));
    }
    PickleValue& at(PickleRef ref) { return out_.values[ref]; }
    PickleRef add_object(PickleRef global) { return add_integer(Kind::object, global); }

    void push(PickleRef ref) { stack_.push_back(ref); }
    PickleRef pop() {
        if (stack_.size() <= mark_floor()) error("stack underflow");
        const PickleRef ref = stack_.back();
        stack_.pop_back();
        return ref;
    }
    PickleRef& top() {
        if (stack_.size() <= mark_floor()) error("stack underflow");
        return stack_.back();
    }
    size_t mark_floor() const { return marks_.empty() ? 0 : marks_.back(); }
    // Everything pushed since the last MARK, which is removed.
    std::vector<PickleRef> pop_mark() {
        if (marks_.empty()) error("no MARK to pop to");
        std::vector<PickleRef> items(stack_.begin() + marks_.back(), stack_.end());
        stack_.resize(marks_.back());
        marks_.pop_back();
        return items;
    }

    void memo_put(uint64_t index) {
        // A memo index above the pickle's length cannot come from a real
        // pickler (each put costs at least a byte), so the memo stays bounded.
        if (index > size_) error("memo index ", index, " is out of range");
        if (index >= memo_.size()) memo_.resize(index + 1, kUnset);
        memo_[index] = top();
    }
    void memo_get(uint64_t index) {
        if (index >= memo_.size() || memo_[index] == kUnset) error("memo index ", index, " was never stored");
        push(memo_[index]);
    }

    void append_to(PickleRef target, const std::vector<PickleRef>& items, const char* op) {
        PickleValue& value = at(target);
        if (value.kind == Kind::list || value.kind == Kind::set)
            value.items.insert(value.items.end(), items.begin(), items.end());
        else if (value.kind != Kind::object)  // an inert placeholder swallows it
            error(op, " on something that is not a list");
    }
    void set_items(PickleRef target, const std::vector<PickleRef>& pairs) {
        if (pairs.size() % 2 != 0) error("SETITEMS with an odd number of items");
        PickleValue& value = at(target);
        // Repeated keys are kept in order; readers let the last one win.
        if (value.kind == Kind::dict)
            value.items.insert(value.items.end(), pairs.begin(), pairs.end());
        else if (value.kind != Kind::object)
            error("SETITEM on something that is not a dict");
    }

    void step(uint8_t op);
    void reduce(PickleRef callable, PickleRef args);
    PickleRef rebuild_tensor(const std::vector<PickleRef>& args);
    PickleRef persistent_load(PickleRef pid);
    int64_t integer_arg(PickleRef ref, const char* what);
    std::vector<int64_t> integers_arg(PickleRef ref, const char* what);

    const uint8_t* data_;
    size_t size_;
    const std::string& origin_;
    size_t pos_ = 0;
    size_t op_start_ = 0;
    Pickle out_;
    std::vector<PickleRef> stack_;
    std::vector<size_t> marks_;  // stack sizes at each MARK
    std::vector<PickleRef> memo_;
    std::map<std::pair<PickleRef, PickleRef>, PickleRef> stack_globals_;  // (module, name) -> global
};

int64_t signed_little_endian(const uint8_t* p, size_t n) {
    uint64_t bits = 0;
    for (size_t i = 0; i < n; ++i) bits |= static_cast<uint64_t>(p[i]) << (8 * i);
    if (n > 0 && n < 8 && (p[n - 1] & 0x80)) bits |= ~uint64_t{0} << (8 * n);
    return static_cast<int64_t>(bits);
}

void Machine::step(uint8_t op) {
    switch (op) {
    case PROTO:
        if (take(1)[0] > kHighestProtocol)
            error("pickle protocol ", int{data_[pos_ - 1]}, " is not supported");
        return;
    case FRAME:  // frames only group opcodes for buffered reading; the whole pickle is in memory
        take(8);
        return;
    case MARK: marks_.push_back(stack_.size()); return;
    case POP: pop(); return;
    case POP_MARK: pop_mark(); return;
    case DUP: push(top()); return;
    case NONE: push(add(Kind::none)); return;
    case NEWTRUE: push(add_integer(Kind::boolean, 1)); return;
    case NEWFALSE: push(add_integer(Kind::boolean, 0)); return;
    case BININT: push(add_integer(Kind::integer, signed_little_endian(take(4), 4))); return;
    case BININT1: push(add_integer(Kind::integer, take(1)[0])); return;
    case BININT2: push(add_integer(Kind::integer, le::u16(take(2)))); return;
    case LONG1:
    case LONG4: {
        const uint64_t n = op == LONG1 ? take(1)[0] : le::u32(take(4));
        if (n > 8) error("integer wider than 64 bits");
        push(add_integer(Kind::integer, signed_little_endian(take(n), n)));
        return;
    }
    case BINFLOAT: {
        const uint8_t* p = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = bits << 8 | p[i];  // big-endian, unlike everything else
        PickleValue value;
        value.kind = Kind::floating;
        std::memcpy(&value.floating, &bits, sizeof bits);
        push(add(std::move(value)));
        return;
    }
    case SHORT_BINUNICODE: push(add(Kind::string, take_string(take(1)[0]))); return;
    case BINUNICODE: push(add(Kind::string, take_string(le::u32(take(4))))); return;
    case BINUNICODE8: push(add(Kind::string, take_string(le::u64(take(8))))); return;
    case SHORT_BINSTRING: push(add(Kind::string, take_string(take(1)[0]))); return;
    case BINSTRING: push(add(Kind::string, take_string(le::u32(take(4))))); return;
    case SHORT_BINBYTES: push(add(Kind::bytes, take_string(take(1)[0]))); return;
    case BINBYTES: push(add(Kind::bytes, take_string(le::u32(take(4))))); return;
    case BINBYTES8:
    case BYTEARRAY8: push(add(Kind::bytes, take_string(le::u64(take(8))))); return;
    case EMPTY_TUPLE: push(add(Kind::tuple)); return;
    case TUPLE: push(add(Kind::tuple, {}, pop_mark())); return;
    case TUPLE1:
    case TUPLE2:
    case TUPLE3: {
        std::vector<PickleRef> items(op - TUPLE1 + 1);
        for (size_t i = items.size(); i-- > 0;) items[i] = pop();
        push(add(Kind::tuple, {}, std::move(items)));
        return;
    }
    case EMPTY_LIST: push(add(Kind::list)); return;
    case LIST: push(add(Kind::list, {}, pop_mark())); return;
    case APPEND: {
        const PickleRef item = pop();
        append_to(top(), {item}, "APPEND");
        return;
    }
    case APPENDS: {
        const std::vector<PickleRef> items = pop_mark();
        append_to(top(), items, "APPENDS");
        return;
    }
    case EMPTY_SET: push(add(Kind::set)); return;
    case FROZENSET: push(add(Kind::set, {}, pop_mark())); return;
    case ADDITEMS: {
        const std::vector<PickleRef> items = pop_mark();
        append_to(top(), items, "ADDITEMS");
        return;
    }
    case EMPTY_DICT: push(add(Kind::dict)); return;
    case DICT: {
        std::vector<PickleRef> pairs = pop_mark();
        if (pairs.size() % 2 != 0) error("DICT with an odd number of items");
        push(add(Kind::dict, {}, std::move(pairs)));
        return;
    }
    case SETITEM: {
        const PickleRef value = pop();
        const PickleRef key = pop();
        set_items(top(), {key, value});
        return;
    }
    case SETITEMS: {
        const std::vector<PickleRef> pairs = pop_mark();
        set_items(top(), pairs);
        return;
    }
    case GLOBAL: {
        std::string module = take_line();
        push(add(Kind::global, module + "." + take_line()));
        return;
    }
    case STACK_GLOBAL: {
        const PickleRef name = pop();
        const PickleRef module = pop();
        if (at(name).kind != Kind::string || at(module).kind != Kind::string)
            error("STACK_GLOBAL needs two strings");
        const auto cached = stack_globals_.find({module, name});
        if (cached != stack_globals_.end()) return push(cached->second);
        const PickleRef global = add(Kind::global, at(module).text + "." + at(name).text);
        stack_globals_.emplace(std::make_pair(module, name), global);
        return push(global);
    }
    case REDUCE:
    case NEWOBJ: {  // cls.__new__(cls, *args) is a call like any other here
        const PickleRef args = pop();
        reduce(pop(), args);
        return;
    }
    case NEWOBJ_EX: {
        pop();  // keyword arguments: no allowed class takes any
        const PickleRef args = pop();
        reduce(pop(), args);
        return;
    }
    case BUILD:  // sets state on the object below (e.g. a state_dict's _metadata); nothing we keep
        pop();
        top();
        return;
    case BINPERSID: push(persistent_load(pop())); return;
    case BINPUT: memo_put(take(1)[0]); return;
    case LONG_BINPUT: memo_put(le::u32(take(4))); return;
    case MEMOIZE: memo_put(memo_.size()); return;
    case BINGET: memo_get(take(1)[0]); return;
    case LONG_BINGET: memo_get(le::u32(take(4))); return;
    default: error("unsupported pickle opcode 0x", std::hex, int{op});
    }
}

// Calls are where a pickle could run code, so only these are rebuilt, by
// hand; every other global yields an inert object carrying its name.
void Machine::reduce(PickleRef callable, PickleRef args_ref) {
    const PickleValue& function = at(callable);
    if (function.kind == Kind::object) return push(add_object(static_cast<PickleRef>(function.integer)));
    if (function.kind != Kind::global) error("call of something that is not a global");
    if (at(args_ref).kind != Kind::tuple) error("call of ", function.text, " without an argument tuple");
    const std::string& name = function.text;
    const bool tensor = name == "torch._utils._rebuild_tensor_v2";
    const bool parameter =
        name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state";
    const bool size = name == "torch.Size";
    const bool device = name == "torch.device";
    if (name == "collections.OrderedDict") {
        if (!at(args_ref).items.empty()) error("collections.OrderedDict called with arguments");
        return push(add(Kind::dict));
    }
    if (!tensor && !parameter && !size && !device) return push(add_object(callable));

    if (at(args_ref).items.size() > 7) error(name, " called with too many arguments");
    const std::vector<PickleRef> args = at(args_ref).items;
    // A disallowed global among the arguments taints the result.
    for (PickleRef arg : args) {
        if (at(arg).kind == Kind::global) return push(add_object(arg));
        if (at(arg).kind == Kind::object) return push(add_object(static_cast<PickleRef>(at(arg).integer)));
    }
    if (tensor) return push(rebuild_tensor(args));
    if (args.empty()) error(name, " called without arguments");
    if (parameter && at(args[0]).kind != Kind::tensor) error(name, " without a tensor");
    if (size && at(args[0]).kind != Kind::tuple) error("torch.Size without a tuple");
    if (device && at(args[0]).kind != Kind::string) error("torch.device without a name");
    push(args[0]);
}

int64_t Machine::integer_arg(PickleRef ref, const char* what) {
    if (at(ref).kind != Kind::integer) error(what, " is not an integer");
    return at(ref).integer;
}

std::vector<int64_t> Machine::integers_arg(PickleRef ref, const char* what) {
    if (at(ref).kind != Kind::tuple) error(what, " is not a tuple");
    if (at(ref).items.size() > kMaxDims) error(what, " has ", at(ref).items.size(), " dimensions");
    std::vector<int64_t> values;
    for (PickleRef item : at(ref).items) values.push_back(integer_arg(item, what));
    return values;
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
//                    backward_hooks[, metadata])
PickleRef Machine::rebuild_tensor(const std::vector<PickleRef>& args) {
    if (args.size() != 6 && args.size() != 7)
        error("_rebuild_tensor_v2 takes 6 or 7 arguments, got ", args.size());
    if (at(args[0]).kind != Kind::storage) error("_rebuild_tensor_v2 without a storage");
    PickleTensor tensor;
    tensor.storage = static_cast<size_t>(at(args[0]).integer);
    tensor.offset = integer_arg(args[1], "tensor storage offset");
    tensor.shape = integers_arg(args[2], "tensor size");
    tensor.stride = integers_arg(args[3], "tensor stride");
    if (tensor.shape.size() != tensor.stride.size())
        error("tensor has ", tensor.shape.size(), " sizes but ", tensor.stride.size(), " strides");
    out_.tensors.push_back(std::move(tensor));
    return add_integer(Kind::tensor, static_cast<int64_t>(out_.tensors.size() - 1));
}

// ('storage', <storage class>, key, location, numel)
PickleRef Machine::persistent_load(PickleRef pid) {
    const PickleValue& id = at(pid);
    if (id.kind != Kind::tuple || id.items.size() != 5 || at(id.items[0]).kind != Kind::string ||
        at(id.items[0]).text != "storage")
        error("unsupported persistent id (expected ('storage', type, key, location, numel))");
    const PickleValue& type = at(id.items[1]);
    const PickleValue& key = at(id.items[2]);
    if (type.kind != Kind::global) error("persistent id storage type is not a global");
    if (key.kind != Kind::string) error("persistent id storage key is not a string");
    const int64_t numel = integer_arg(id.items[4], "persistent id numel");
    if (numel < 0) error("storage ", key.text, " has negative size ", numel);
    out_.storages.push_back(PickleStorage{id.items[1], id.items[2], numel});
    return add_integer(Kind::storage, static_cast<int64_t>(out_.storages.size() - 1));
}

}  // namespace

Pickle read_pickle(const uint8_t* data, size_t size, const std::string& origin) {
    return Machine(data, size, origin).run();
}

}  // namespace ember
