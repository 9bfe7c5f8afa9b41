// The .ember container: round trips, the exact byte layout of docs/FORMAT.md,
// and a reader that turns every truncated, corrupted or crafted file into an
// ember::Error without crashing or allocating what the file claims.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/ember_file.h"
#include "engine/error.h"
#include "kernels/kernels.h"
#include "tests/test_support.h"

namespace {

using ember::EmberFile;
using ember::MappedFile;
using ember::MetadataValue;
using Bytes = std::vector<uint8_t>;
using Metadata = std::vector<std::pair<std::string, MetadataValue>>;
using Catch::Matchers::Contains;

constexpr const char* origin = "memory.ember";

EmberFile parse(const Bytes& bytes) { return ember::parse_ember_file(MappedFile::from_bytes(bytes), origin); }

Bytes read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool exists(const std::string& path) {
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0;
}

template <class T>
void patch(Bytes& bytes, size_t at, T value) {
    std::memcpy(bytes.data() + at, &value, sizeof(T));
}

// Hand-assembled tables, independent of the writer, for crafting files.
struct Tables {
    Bytes bytes;
    template <class T>
    Tables& put(T value) {
        const auto* p = reinterpret_cast<const uint8_t*>(&value);
        bytes.insert(bytes.end(), p, p + sizeof(T));
        return *this;
    }
    Tables& name(const std::string& text) {
        put(static_cast<uint32_t>(text.size()));
        bytes.insert(bytes.end(), text.begin(), text.end());
        return *this;
    }
    Tables& string(const std::string& text) {
        put(static_cast<uint64_t>(text.size()));
        bytes.insert(bytes.end(), text.begin(), text.end());
        return *this;
    }
    Tables& int64_entry(const std::string& key, int64_t value) { return name(key).put(uint32_t{1}).put(value); }
    Tables& tensor(const std::string& tensor_name, const std::vector<uint64_t>& dims, uint64_t offset,
                   uint32_t dtype = 0) {
        name(tensor_name).put(dtype).put(static_cast<uint32_t>(dims.size()));
        for (uint64_t dim : dims) put(dim);
        return put(offset);
    }
};

uint64_t align64(uint64_t n) { return (n + 63) / 64 * 64; }

// Header + tables + zero padding + `data` (data_size = data.size()).
Bytes assemble(uint64_t metadata_count, uint64_t tensor_count, const Tables& tables, const Bytes& data) {
    Tables file;
    file.bytes = {'E', 'M', 'B', 'R'};
    const uint64_t data_offset = align64(48 + tables.bytes.size());
    file.put(ember::ember_version_major).put(ember::ember_version_minor).put(uint32_t{0});
    file.put(metadata_count).put(tensor_count).put(data_offset).put(static_cast<uint64_t>(data.size()));
    file.bytes.insert(file.bytes.end(), tables.bytes.begin(), tables.bytes.end());
    file.bytes.resize(data_offset, 0);
    file.bytes.insert(file.bytes.end(), data.begin(), data.end());
    return file.bytes;
}

Bytes zeros(size_t n) { return Bytes(n, 0); }

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void require_equal(const MetadataValue& got, const MetadataValue& expected) {
    REQUIRE(got.type == expected.type);
    switch (expected.type) {
        case MetadataValue::Type::boolean: REQUIRE(got.boolean == expected.boolean); break;
        case MetadataValue::Type::int64: REQUIRE(got.int64 == expected.int64); break;
        case MetadataValue::Type::float64: REQUIRE(same_bits(got.float64, expected.float64)); break;
        case MetadataValue::Type::string: REQUIRE(got.string == expected.string); break;
        case MetadataValue::Type::float32_array:
            REQUIRE(got.float32s.size() == expected.float32s.size());
            for (size_t i = 0; i < got.float32s.size(); ++i) REQUIRE(same_bits(got.float32s[i], expected.float32s[i]));
            break;
        case MetadataValue::Type::int32_array: REQUIRE(got.int32s == expected.int32s); break;
        case MetadataValue::Type::string_array: REQUIRE(got.strings == expected.strings); break;
    }
}

Metadata every_metadata_type() {
    return {
        {"general.architecture", MetadataValue::make_string("emformer_rnnt")},
        {"test.flag_true", MetadataValue::make_bool(true)},
        {"test.flag_false", MetadataValue::make_bool(false)},
        {"test.int_min", MetadataValue::make_int64(std::numeric_limits<int64_t>::min())},
        {"test.int_max", MetadataValue::make_int64(std::numeric_limits<int64_t>::max())},
        {"test.pi", MetadataValue::make_float64(3.141592653589793)},
        {"test.negative_zero", MetadataValue::make_float64(-0.0)},
        {"test.not_a_number", MetadataValue::make_float64(std::nan(""))},
        {"test.utf8", MetadataValue::make_string("gr\xc3\xb6\xc3\x9f"
                                                 "e \xe2\x9c\x93\nline two")},
        {"test.empty_string", MetadataValue::make_string("")},
        {"test.floats", MetadataValue::make_float32_array({1.5f, -0.0f, INFINITY, 1e-38f})},
        {"test.no_floats", MetadataValue::make_float32_array({})},
        {"test.ints", MetadataValue::make_int32_array({std::numeric_limits<int32_t>::min(), 0, 7, 2147483647})},
        {"test.no_ints", MetadataValue::make_int32_array({})},
        {"test.strings", MetadataValue::make_string_array({"a", "", "\xc3\x9f", "<blank>"})},
        {"test.no_strings", MetadataValue::make_string_array({})},
        {"emformer_rnnt.segment_length", MetadataValue::make_int64(16)},
    };
}

struct OwnedTensor {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<float> values;
};

std::vector<OwnedTensor> odd_tensors() {
    const std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
        {"scalar_like", {1}},
        {"transcriber.input_linear.weight", {3, 5, 7}},
        {"eight.dims", {1, 2, 1, 3, 1, 1, 2, 1}},
        {"prime", {17}},
        {"joiner.linear.bias", {2, 33}},
        {"exactly.sixteen", {16}},
    };
    std::vector<OwnedTensor> tensors;
    float next = 0.25f;
    for (const auto& [name, shape] : shapes) {
        OwnedTensor t{name, shape, {}};
        int64_t numel = 1;
        for (int64_t d : shape) numel *= d;
        for (int64_t i = 0; i < numel; ++i) t.values.push_back(next += 1.125f);
        tensors.push_back(std::move(t));
    }
    return tensors;
}

std::vector<ember::TensorToWrite> to_write(const std::vector<OwnedTensor>& tensors) {
    std::vector<ember::TensorToWrite> out;
    for (const auto& t : tensors) out.push_back({t.name, t.shape, t.values.data()});
    return out;
}

void require_round_trip(const EmberFile& file, const Metadata& metadata, const std::vector<OwnedTensor>& tensors) {
    REQUIRE(file.version_major == ember::ember_version_major);
    REQUIRE(file.version_minor == ember::ember_version_minor);
    REQUIRE(file.metadata.size() == metadata.size());
    for (size_t i = 0; i < metadata.size(); ++i) {
        INFO("metadata " << metadata[i].first);
        REQUIRE(file.metadata[i].first == metadata[i].first);
        require_equal(file.metadata[i].second, metadata[i].second);
        REQUIRE(file.find_metadata(metadata[i].first) == &file.metadata[i].second);
    }
    REQUIRE(file.tensors.size() == tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
        const ember::TensorInfo& got = file.tensors[i];
        INFO("tensor " << tensors[i].name);
        REQUIRE(got.name == tensors[i].name);
        REQUIRE(got.shape == tensors[i].shape);
        REQUIRE(got.numel() == static_cast<int64_t>(tensors[i].values.size()));
        REQUIRE(got.offset % 64 == 0);
        REQUIRE(reinterpret_cast<uintptr_t>(got.data) % 64 == 0);
        REQUIRE(std::memcmp(got.data, tensors[i].values.data(), 4 * tensors[i].values.size()) == 0);
        REQUIRE(file.find_tensor(tensors[i].name) == &got);
    }
    REQUIRE(file.find_metadata("test.absent") == nullptr);
    REQUIRE(file.find_tensor("absent.weight") == nullptr);
}

// A small valid file with a bit of everything, for the corruption tests.
Bytes small_file() {
    const std::string path = ember::test::scratch("small.ember");
    const std::vector<float> a = {1, 2, 3, 4, 5, 6}, b = {7, 8, 9};
    ember::write_ember_file(path,
                            {{"general.architecture", MetadataValue::make_string("emformer_rnnt")},
                             {"test.flag", MetadataValue::make_bool(true)},
                             {"test.count", MetadataValue::make_int64(3)},
                             {"test.scale", MetadataValue::make_float64(0.5)},
                             {"test.floats", MetadataValue::make_float32_array({1, 2})},
                             {"test.ints", MetadataValue::make_int32_array({3, 4})},
                             {"test.names", MetadataValue::make_string_array({"x", "yz"})}},
                            {{"a.weight", {2, 3}, a.data()}, {"b.bias", {3}, b.data()}});
    return read_bytes(path);
}

uint64_t data_offset_of(const Bytes& bytes) {
    uint64_t value;
    std::memcpy(&value, bytes.data() + 32, 8);
    return value;
}

}  // namespace

TEST_CASE("ember file: every metadata type and odd-shaped tensors round trip", "[ember_file]") {
    const Metadata metadata = every_metadata_type();
    const std::vector<OwnedTensor> tensors = odd_tensors();
    const std::string path = ember::test::scratch("round_trip.ember");

    std::vector<double> fractions;
    ember::write_ember_file(path, metadata, to_write(tensors), [&](double f) { fractions.push_back(f); });
    REQUIRE_FALSE(exists(path + ".tmp"));
    REQUIRE_FALSE(fractions.empty());
    REQUIRE(fractions.back() == 1.0);
    for (size_t i = 1; i < fractions.size(); ++i) REQUIRE(fractions[i] >= fractions[i - 1]);

    const EmberFile file = ember::open_ember_file(path);
    REQUIRE(file.origin == path);
    REQUIRE(file.mapping.is_mapped());
    require_round_trip(file, metadata, tensors);

    SECTION("over owned bytes in memory") {
        const Bytes bytes = read_bytes(path);
        const EmberFile in_memory = parse(bytes);
        REQUIRE_FALSE(in_memory.mapping.is_mapped());
        require_round_trip(in_memory, metadata, tensors);
    }
    SECTION("tensor pointers survive moving the file") {
        const float* before = file.tensors[1].data;
        EmberFile moved = ember::open_ember_file(path);
        const float* data = moved.tensors[1].data;
        EmberFile target = std::move(moved);
        REQUIRE(target.tensors[1].data == data);
        REQUIRE(std::memcmp(data, before, 4 * 105) == 0);
    }
    SECTION("tensors are packed in table order at the next multiple of 64") {
        uint64_t end = 0;
        for (const auto& t : file.tensors) {
            REQUIRE(t.offset == (end + 63) / 64 * 64);
            end = t.offset + 4 * static_cast<uint64_t>(t.numel());
        }
        REQUIRE(file.mapping.size() == data_offset_of(read_bytes(path)) + end);
    }
}

TEST_CASE("ember file: a matrix written in panels reads back packed as the kernels expect", "[ember_file]") {
    const std::string path = ember::test::scratch("panels.ember");
    for (const std::vector<int64_t>& shape : std::vector<std::vector<int64_t>>{{1, 1}, {16, 5}, {17, 3}, {40, 33}}) {
        INFO(shape[0] << " x " << shape[1]);
        std::vector<float> rows(size_t(shape[0] * shape[1]));
        for (size_t i = 0; i < rows.size(); ++i) rows[i] = float(i) * 0.5f - 3.0f;
        const std::vector<float> bias = {9.0f};
        ember::write_ember_file(path, {},
                                {{"w", shape, rows.data(), ember::TensorLayout::float32_panels16},
                                 {"b", {1}, bias.data()}});
        const EmberFile file = ember::open_ember_file(path);
        REQUIRE(file.version_major == 2);
        const ember::TensorInfo& w = file.tensors[0];
        REQUIRE(w.layout == ember::TensorLayout::float32_panels16);
        REQUIRE(w.shape == shape);
        REQUIRE(w.stored_floats() == ember::kernels::packed_linear_floats(shape[0], shape[1]));
        std::vector<float> packed(size_t(w.stored_floats()));
        ember::kernels::pack_linear_weights(rows.data(), shape[1], shape[0], shape[1], packed.data());
        REQUIRE(std::memcmp(w.data, packed.data(), 4 * packed.size()) == 0);
        REQUIRE(file.tensors[1].layout == ember::TensorLayout::float32);
        REQUIRE(file.tensors[1].data[0] == 9.0f);
        REQUIRE(file.tensors[1].offset == (4 * uint64_t(w.stored_floats()) + 63) / 64 * 64);
    }
}

TEST_CASE("ember file: empty file (no metadata, no tensors) round trips", "[ember_file]") {
    const std::string path = ember::test::scratch("empty_tables.ember");
    std::vector<double> fractions;
    ember::write_ember_file(path, {}, {}, [&](double f) { fractions.push_back(f); });
    REQUIRE(fractions == std::vector<double>{1.0});
    const Bytes bytes = read_bytes(path);
    REQUIRE(bytes.size() == 64);
    const EmberFile file = ember::open_ember_file(path);
    REQUIRE(file.metadata.empty());
    REQUIRE(file.tensors.empty());
}

TEST_CASE("ember file: the writer produces exactly the bytes docs/FORMAT.md describes", "[ember_file]") {
    const std::string path = ember::test::scratch("layout.ember");
    const std::vector<float> t = {1.0f, 2.0f};
    ember::write_ember_file(path, {{"a.b", MetadataValue::make_int64(7)}}, {{"t", {2}, t.data()}});

    Tables tables;
    tables.int64_entry("a.b", 7).tensor("t", {2}, 0);
    Bytes data(8);
    std::memcpy(data.data(), t.data(), 8);
    const Bytes expected = assemble(1, 1, tables, data);
    REQUIRE(expected.size() == 136);  // 48 header + 19 + 29 table bytes, padded to 128, + 8 data
    REQUIRE(read_bytes(path) == expected);
}

TEST_CASE("ember file: majors 1 and 2 are read, any minor; a newer major is refused", "[ember_file]") {
    Bytes bytes = small_file();
    SECTION("minor 7 of major 1 is read") {
        patch<uint32_t>(bytes, 4, 1);
        patch<uint32_t>(bytes, 8, 7);
        REQUIRE(parse(bytes).version_minor == 7);
    }
    SECTION("minor 3 of major 2 is read") {
        patch<uint32_t>(bytes, 8, 3);
        REQUIRE(parse(bytes).version_major == 2);
    }
    SECTION("major 3") {
        patch<uint32_t>(bytes, 4, 3);
        REQUIRE_THROWS_WITH(parse(bytes),
                            "memory.ember: written in .ember format 3.x, this ember reads 1.x to 2.x; upgrade ember");
    }
    SECTION("major 0") {
        patch<uint32_t>(bytes, 4, 0);
        REQUIRE_THROWS_WITH(parse(bytes), Contains("format 0.") && Contains(" was never released"));
    }
    SECTION("flags") {
        patch<uint32_t>(bytes, 12, 1);
        REQUIRE_THROWS_WITH(parse(bytes), Contains("header flags are 1, expected 0"));
    }
    SECTION("magic") {
        bytes[0] = 'G';
        REQUIRE_THROWS_WITH(parse(bytes), "memory.ember: not an .ember file (starts with 'GMBR', expected 'EMBR')");
    }
}

TEST_CASE("ember file: every truncation of a file is an ember::Error", "[ember_file]") {
    const Bytes bytes = small_file();
    REQUIRE_NOTHROW(parse(bytes));
    for (size_t length = 0; length < bytes.size(); ++length) {
        INFO("length " << length);
        const Bytes prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(length));
        REQUIRE_THROWS_AS(parse(prefix), ember::Error);
    }
    Bytes longer = bytes;
    longer.push_back(0);
    REQUIRE_THROWS_WITH(parse(longer), Contains("has bytes appended"));
}

TEST_CASE("ember file: corrupted header and table bytes parse or throw ember::Error", "[ember_file]") {
    const Bytes original = small_file();
    const size_t table_end = data_offset_of(original);
    size_t parsed = 0, refused = 0;
    const auto try_parse = [&](const Bytes& bytes) {
        try {
            parse(bytes);
            ++parsed;
        } catch (const ember::Error&) {
            ++refused;
        }
    };
    // Every byte of the header and tables, a few ways each.
    for (size_t at = 0; at < table_end; ++at)
        for (uint8_t flip : {0x01, 0x02, 0x10, 0x80, 0xFF}) {
            Bytes bytes = original;
            bytes[at] ^= flip;
            try_parse(bytes);
        }
    // Random single-byte and multi-byte damage, many seeds.
    for (uint32_t seed = 0; seed < 2000; ++seed) {
        std::mt19937 random(seed);
        Bytes bytes = original;
        const int damaged = seed % 2 ? 1 : 1 + static_cast<int>(random() % 6);
        for (int k = 0; k < damaged; ++k) bytes[random() % table_end] = static_cast<uint8_t>(random());
        try_parse(bytes);
    }
    REQUIRE(refused > 0);
    REQUIRE(parsed > 0);  // flips inside values (a float, a string byte) still parse
}

TEST_CASE("ember file: huge counts, lengths and dims are refused without allocating", "[ember_file]") {
    const uint64_t huge = uint64_t{1} << 60;
    struct Case {
        const char* what;
        Bytes bytes;
        const char* message;
    };
    std::vector<Case> cases;
    {
        Bytes b = small_file();
        patch<uint64_t>(b, 16, huge);
        cases.push_back({"metadata_count", b, "metadata_count 1152921504606846976 cannot fit"});
        b = small_file();
        patch<uint64_t>(b, 24, huge);
        cases.push_back({"tensor_count", b, "tensor_count 1152921504606846976 cannot fit"});
        b = small_file();
        patch<uint64_t>(b, 32, uint64_t{1} << 63);
        cases.push_back({"data_offset", b, "is past the end of the file"});
        b = small_file();
        patch<uint64_t>(b, 40, ~uint64_t{0});
        cases.push_back({"data_size", b, "truncated or corrupted"});
    }
    const auto one_entry = [](Tables tables, uint64_t metadata_count, uint64_t tensor_count, size_t data = 64) {
        return assemble(metadata_count, tensor_count, tables, zeros(data));
    };
    cases.push_back(
        {"key length", one_entry(Tables().put(uint32_t{0xFFFFFFFF}), 1, 0), "key length 4294967295 is not in 1..256"});
    cases.push_back({"string length", one_entry(Tables().name("a").put(uint32_t{3}).put(huge), 1, 0),
                     "string length 1152921504606846976 needs at least 1 bytes each"});
    cases.push_back(
        {"float32 array", one_entry(Tables().name("a").put(uint32_t{4}).put(huge), 1, 0), "float32 array count"});
    cases.push_back(
        {"int32 array", one_entry(Tables().name("a").put(uint32_t{5}).put(~uint64_t{0}), 1, 0), "int32 array count"});
    cases.push_back(
        {"string array", one_entry(Tables().name("a").put(uint32_t{6}).put(huge), 1, 0), "string array count"});
    cases.push_back({"string array element",
                     one_entry(Tables().name("a").put(uint32_t{6}).put(uint64_t{2}).string("x").put(huge), 1, 0),
                     "string array element length"});
    cases.push_back(
        {"n_dims",
         one_entry(Tables().name("t").put(uint32_t{0}).put(uint32_t{0x80000000}).put(uint64_t{0}).put(uint64_t{0}), 0,
                   1),
         "n_dims 2147483648 is not in 1..8"});
    cases.push_back({"one huge dim", one_entry(Tables().tensor("t", {uint64_t{1} << 62}, 0), 0, 1),
                     "shape [4611686018427387904] needs more than the 64 bytes of the data section"});
    cases.push_back({"dims overflowing 64 bits",
                     one_entry(Tables().tensor("t", {1u << 31, 1u << 31, 1u << 31, 8}, 0), 0, 1),
                     "needs more than the 64 bytes"});
    cases.push_back(
        {"max dims", one_entry(Tables().tensor("t", {~uint64_t{0}, ~uint64_t{0}}, 0), 0, 1), "needs more than"});
    cases.push_back(
        {"offset", one_entry(Tables().tensor("t", {4}, ~uint64_t{63}), 0, 1), "runs past the end of the file"});

    // Mid-sized claims (hundreds of MB to GB if believed) would show up in the
    // peak resident set, since vectors zero their elements; 2^60 would throw
    // std::bad_alloc, not ember::Error.
    const uint64_t mid = uint64_t{1} << 28;
    cases.push_back({"mid float32 array", one_entry(Tables().name("a").put(uint32_t{4}).put(mid), 1, 0),
                     "float32 array count 268435456 needs"});
    cases.push_back({"mid int32 array", one_entry(Tables().name("a").put(uint32_t{5}).put(mid), 1, 0),
                     "int32 array count 268435456 needs"});
    cases.push_back({"mid string", one_entry(Tables().name("a").put(uint32_t{3}).put(mid * 4), 1, 0),
                     "string length 1073741824 needs"});
    cases.push_back({"mid string array", one_entry(Tables().name("a").put(uint32_t{6}).put(mid), 1, 0),
                     "string array count 268435456 needs"});

    const auto peak_kb = [] {
        rusage usage{};
        getrusage(RUSAGE_SELF, &usage);
        return usage.ru_maxrss;
    };
    const long peak_before = peak_kb();
    for (const Case& c : cases) {
        INFO(c.what);
        REQUIRE_THROWS_WITH(parse(c.bytes), Contains(c.message));
    }
    REQUIRE(peak_kb() - peak_before < 64 * 1024);
}

TEST_CASE("ember file: crafted tables are refused with a message naming the problem", "[ember_file]") {
    SECTION("tensor data past the end of the file") {
        const Bytes bytes = assemble(0, 2, Tables().tensor("a", {16}, 0).tensor("x.weight", {32}, 64), zeros(128));
        REQUIRE_THROWS_WITH(parse(bytes),
                            "memory.ember: tensor 1 'x.weight' data [offset 192, 128 bytes) runs past "
                            "the end of the file (256 bytes)");
    }
    SECTION("overlapping tensors") {
        const Bytes bytes = assemble(0, 2, Tables().tensor("a", {32}, 0).tensor("b", {16}, 64), zeros(192));
        REQUIRE_THROWS_WITH(parse(bytes), Contains("tensor 0 'a' data [offset 128, 128 bytes) overlaps tensor 1 'b'"));
    }
    SECTION("overlapping tensors listed out of order") {
        const Bytes bytes = assemble(0, 2, Tables().tensor("a", {16}, 64).tensor("b", {32}, 0), zeros(192));
        REQUIRE_THROWS_WITH(parse(bytes), Contains("tensor 1 'b' data [offset 128, 128 bytes) overlaps tensor 0 'a'"));
    }
    SECTION("tensors out of order but disjoint are accepted") {
        const Bytes bytes = assemble(0, 2, Tables().tensor("a", {16}, 64).tensor("b", {16}, 0), zeros(128));
        REQUIRE(parse(bytes).tensors[0].offset == 64);
    }
    SECTION("misaligned tensor offset") {
        const Bytes bytes = assemble(0, 1, Tables().tensor("a", {4}, 32), zeros(64));
        REQUIRE_THROWS_WITH(parse(bytes), Contains("tensor 0 'a': data offset 32 is not a multiple of 64"));
    }
    SECTION("duplicate tensor names") {
        const Bytes bytes = assemble(0, 2, Tables().tensor("a", {4}, 0).tensor("a", {4}, 64), zeros(128));
        REQUIRE_THROWS_WITH(parse(bytes), Contains("tensor 1 'a': the name also names tensor 0"));
    }
    SECTION("duplicate metadata keys") {
        const Bytes bytes = assemble(2, 0, Tables().int64_entry("a.b", 1).int64_entry("a.b", 2), {});
        REQUIRE_THROWS_WITH(parse(bytes), Contains("metadata entry 1 'a.b': the key also names metadata entry 0"));
    }
    SECTION("unknown dtype") {
        const Bytes bytes = assemble(0, 1, Tables().tensor("a", {4}, 0, 2), zeros(64));
        REQUIRE_THROWS_WITH(parse(bytes), Contains("tensor 0 'a': dtype 2 is not supported"));
    }
    SECTION("panels in a 1.x file") {
        Bytes bytes = assemble(0, 1, Tables().tensor("a", {16, 1}, 0, 1), zeros(64));
        patch<uint32_t>(bytes, 4, 1);
        REQUIRE_THROWS_WITH(parse(bytes), Contains("tensor 0 'a': dtype 1 (float32_panels16) needs format 2.0"));
    }
    SECTION("panels of a tensor that is not 2-D") {
        const Bytes bytes = assemble(0, 1, Tables().tensor("a", {16}, 0, 1), zeros(64));
        REQUIRE_THROWS_WITH(parse(bytes), Contains("tensor 0 'a': n_dims 1, but float32_panels16 holds 2-D"));
    }
    SECTION("panels take whole panels of 16 rows") {
        // (17, 3) holds 51 floats, but in panels 32 x 3 = 96 (384 bytes).
        REQUIRE(parse(assemble(0, 1, Tables().tensor("a", {17, 3}, 0, 1), zeros(384))).tensors[0].stored_floats() ==
                96);
        REQUIRE_THROWS_WITH(parse(assemble(0, 1, Tables().tensor("a", {17, 3}, 0, 1), zeros(320))),
                            Contains("tensor 0 'a': shape [17, 3] in panels of 16 needs more than the 320 bytes"));
        REQUIRE_THROWS_WITH(parse(assemble(0, 1, Tables().tensor("a", {17, 3}, 64, 1), zeros(384))),
                            Contains("tensor 0 'a' data [offset 192, 384 bytes) runs past the end"));
        REQUIRE_THROWS_WITH(
            parse(assemble(0, 2, Tables().tensor("a", {17, 3}, 0, 1).tensor("b", {4}, 320), zeros(384))),
            Contains("overlaps tensor 1 'b'"));
    }
    SECTION("unknown metadata type") {
        const Bytes bytes = assemble(1, 0, Tables().name("a").put(uint32_t{7}).put(uint64_t{0}), {});
        REQUIRE_THROWS_WITH(parse(bytes), Contains("metadata entry 0 'a': unknown value type 7"));
    }
    SECTION("bool other than 0 or 1") {
        const Bytes bytes = assemble(1, 0, Tables().name("a").put(uint32_t{0}).put(uint8_t{2}), {});
        REQUIRE_THROWS_WITH(parse(bytes), Contains("bool value is 2, expected 0 or 1"));
    }
    SECTION("keys that are not dotted snake_case") {
        for (const char* key : {"Emformer.x", "a..b", ".a", "a.", "a-b", "a b"}) {
            INFO(key);
            const Bytes bytes = assemble(1, 0, Tables().int64_entry(key, 1), {});
            REQUIRE_THROWS_WITH(parse(bytes), Contains("is not dotted snake_case"));
        }
    }
    SECTION("names with control characters or invalid UTF-8") {
        REQUIRE_THROWS_WITH(parse(assemble(0, 1, Tables().tensor("a\nb", {4}, 0), zeros(64))),
                            Contains("name 'a\\x0ab' contains a control character"));
        REQUIRE_THROWS_WITH(parse(assemble(0, 1, Tables().tensor("a\xff", {4}, 0), zeros(64))),
                            Contains("name 'a\\xff' is not valid UTF-8"));
    }
    SECTION("string value that is not UTF-8") {
        const Bytes bytes = assemble(1, 0, Tables().name("a").put(uint32_t{3}).string("\xc3("), {});
        REQUIRE_THROWS_WITH(parse(bytes), Contains("metadata entry 0 'a': string at byte 65 is not valid UTF-8"));
    }
    SECTION("n_dims 0 and 9, a zero dimension") {
        REQUIRE_THROWS_WITH(
            parse(assemble(0, 1, Tables().name("a").put(uint32_t{0}).put(uint32_t{0}).put(uint64_t{0}).put(uint64_t{0}),
                           zeros(64))),
            Contains("n_dims 0 is not in 1..8"));
        REQUIRE_THROWS_WITH(parse(assemble(0, 1, Tables().tensor("a", {1, 1, 1, 1, 1, 1, 1, 1, 1}, 0), zeros(64))),
                            Contains("n_dims 9 is not in 1..8"));
        REQUIRE_THROWS_WITH(parse(assemble(0, 1, Tables().tensor("a", {4, 0}, 0), zeros(64))),
                            Contains("shape [4, 0] has a zero dimension"));
    }
    SECTION("nonzero padding before data_offset") {
        Bytes bytes = assemble(0, 1, Tables().tensor("a", {4}, 0), zeros(64));
        bytes[100] = 1;
        REQUIRE_THROWS_WITH(parse(bytes), Contains("byte 100 in the padding before data_offset 128 is 1"));
    }
    SECTION("data_offset not a multiple of 64") {
        Bytes bytes = assemble(0, 0, Tables(), {});
        patch<uint64_t>(bytes, 32, 48);
        REQUIRE_THROWS_WITH(parse(bytes), Contains("data_offset 48 is not a multiple of 64"));
    }
    SECTION("tables running past data_offset") {
        const Bytes bytes = assemble(1, 0, Tables().name("a").put(uint32_t{1}), {});  // the int64 is missing
        REQUIRE_THROWS_WITH(parse(bytes),
                            "memory.ember: metadata entry 0 'a': int64 value (8 bytes at byte 57) runs "
                            "past the end of the tables at data_offset 64");
    }
}

TEST_CASE("ember file: the writer refuses what the reader would refuse", "[ember_file]") {
    const std::string path = ember::test::scratch("refused.ember");
    ::unlink(path.c_str());
    const std::vector<float> four = {1, 2, 3, 4};
    const auto write = [&](const Metadata& metadata, const std::vector<ember::TensorToWrite>& tensors) {
        ember::write_ember_file(path, metadata, tensors);
    };
    const auto one = MetadataValue::make_int64(1);
    REQUIRE_THROWS_WITH(write({{"a.b", one}, {"a.b", one}}, {}), Contains("metadata key 'a.b' appears twice"));
    REQUIRE_THROWS_WITH(write({{"A.b", one}}, {}), Contains("is not dotted snake_case"));
    REQUIRE_THROWS_WITH(write({{"", one}}, {}), Contains("must be 1 to 256 bytes long"));
    REQUIRE_THROWS_WITH(write({{std::string(257, 'a'), one}}, {}), Contains("must be 1 to 256 bytes long"));
    REQUIRE_THROWS_WITH(write({{"a.s", MetadataValue::make_string("\xff")}}, {}), Contains("not valid UTF-8"));
    REQUIRE_THROWS_WITH(write({}, {{"t", {4}, four.data()}, {"t", {2, 2}, four.data()}}),
                        Contains("'t' appears twice"));
    REQUIRE_THROWS_WITH(write({}, {{"t", {}, four.data()}}), Contains("must have 1 to 8 dimensions"));
    REQUIRE_THROWS_WITH(write({}, {{"t", {1, 1, 1, 1, 1, 1, 1, 1, 1}, four.data()}}), Contains("must have 1 to 8"));
    REQUIRE_THROWS_WITH(write({}, {{"t", {2, 0}, four.data()}}), Contains("shape [2, 0] has a dimension below 1"));
    REQUIRE_THROWS_WITH(write({}, {{"t", {-4}, four.data()}}), Contains("has a dimension below 1"));
    REQUIRE_THROWS_WITH(write({}, {{"t", {1 << 30, 1 << 30, 1 << 30}, four.data()}}), Contains("is too large"));
    REQUIRE_THROWS_WITH(write({}, {{"t", {4}, nullptr}}), Contains("'t': data is null"));
    REQUIRE_THROWS_WITH(write({}, {{"t", {4}, four.data(), ember::TensorLayout::float32_panels16}}),
                        Contains("float32_panels16 holds 2-D matrices only"));
    REQUIRE_THROWS_WITH(write({}, {{"t", {1, int64_t(1) << 60}, four.data(), ember::TensorLayout::float32_panels16}}),
                        Contains("is too large"));
    REQUIRE_FALSE(exists(path));
    REQUIRE_FALSE(exists(path + ".tmp"));
}

TEST_CASE("ember file: missing, directory and empty inputs give clear errors", "[ember_file]") {
    const std::string missing = ember::test::scratch("does_not_exist.ember");
    REQUIRE_THROWS_WITH(ember::open_ember_file(missing), missing + ": cannot open: No such file or directory");

    const std::string directory = ember::test::scratch("a_directory.ember");
    ::mkdir(directory.c_str(), 0755);
    REQUIRE_THROWS_WITH(ember::open_ember_file(directory), directory + ": cannot map: Is a directory");

    const std::string empty = ember::test::scratch("empty.ember");
    std::ofstream(empty, std::ios::binary | std::ios::trunc).close();
    REQUIRE_THROWS_WITH(ember::open_ember_file(empty), empty + ": file is empty");

    const std::string text = ember::test::scratch("not_ember.txt");
    std::ofstream(text, std::ios::binary | std::ios::trunc) << "hello, world\n";
    REQUIRE_THROWS_WITH(ember::open_ember_file(text),
                        text + ": not an .ember file (starts with 'hell', expected 'EMBR')");

    REQUIRE_THROWS_WITH(parse({}), "memory.ember: not an .ember file (too short for the magic, expected 'EMBR')");
}

TEST_CASE("ember file: unwritable output paths give clear errors; rewriting replaces", "[ember_file]") {
    const std::vector<float> four = {1, 2, 3, 4};
    const std::vector<ember::TensorToWrite> tensors = {{"t", {4}, four.data()}};

    const std::string no_directory = ember::test::scratch("no_such_directory/out.ember");
    REQUIRE_THROWS_WITH(ember::write_ember_file(no_directory, {}, tensors),
                        no_directory + ": cannot create " + no_directory + ".tmp: No such file or directory");

    const std::string file = ember::test::scratch("plain_file");
    std::ofstream(file, std::ios::trunc) << "x";
    REQUIRE_THROWS_WITH(ember::write_ember_file(file + "/out.ember", {}, tensors), Contains("Not a directory"));

    const std::string directory = ember::test::scratch("output_is_a_directory");
    ::mkdir(directory.c_str(), 0755);
    REQUIRE_THROWS_WITH(ember::write_ember_file(directory, {}, tensors),
                        directory + ": cannot rename " + directory + ".tmp to it: Is a directory");
    REQUIRE_FALSE(exists(directory + ".tmp"));

    SECTION("a progress callback that throws leaves nothing behind") {
        const std::string path = ember::test::scratch("cancelled.ember");
        ::unlink(path.c_str());
        REQUIRE_THROWS_WITH(ember::write_ember_file(path, {}, tensors, [](double) { ember::fail("cancelled"); }),
                            "cancelled");
        REQUIRE_FALSE(exists(path));
        REQUIRE_FALSE(exists(path + ".tmp"));
    }
    SECTION("writing over an existing file replaces it") {
        const std::string path = ember::test::scratch("rewritten.ember");
        ember::write_ember_file(path, {{"a.b", MetadataValue::make_int64(1)}}, tensors);
        ember::write_ember_file(path, {{"a.b", MetadataValue::make_int64(2)}}, {});
        const EmberFile reread = ember::open_ember_file(path);
        REQUIRE(reread.find_metadata("a.b")->int64 == 2);
        REQUIRE(reread.tensors.empty());
    }
}

TEST_CASE("ember file: MappedFile over owned bytes is aligned and movable", "[ember_file]") {
    const Bytes bytes = {1, 2, 3, 4, 5};
    MappedFile owned = MappedFile::from_bytes(bytes);
    REQUIRE(owned.size() == 5);
    REQUIRE(reinterpret_cast<uintptr_t>(owned.data()) % MappedFile::alignment == 0);
    const uint8_t* data = owned.data();
    MappedFile moved = std::move(owned);
    REQUIRE(moved.data() == data);
    REQUIRE(owned.data() == nullptr);
    REQUIRE(owned.size() == 0);
    REQUIRE(std::memcmp(moved.data(), bytes.data(), 5) == 0);
    moved = MappedFile::from_bytes(nullptr, 0);
    REQUIRE(moved.data() == nullptr);
    REQUIRE(moved.size() == 0);
}
