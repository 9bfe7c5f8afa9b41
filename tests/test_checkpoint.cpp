#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "tests/test_support.h"
#include "tools/checkpoint/json.h"
#include "tools/checkpoint/pickle_reader.h"
#include "tools/checkpoint/torch_checkpoint.h"
#include "tools/checkpoint/zip_reader.h"

using namespace std::string_literals;

namespace {

const char* const kPwned = "/tmp/ember_pwned";  // what the malicious fixtures would create

std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    REQUIRE(file);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(file), {});
}

bool exists(const char* path) {
    struct stat info {};
    return ::stat(path, &info) == 0;
}

// The message reading `name` throws (empty when it loads).
std::string load_error(const std::string& name) {
    try {
        ember::read_torch_checkpoint(ember::test::fixture("checkpoint/" + name));
    } catch (const ember::Error& e) {
        return e.what();
    }
    return "";
}

// Loads or throws ember::Error; anything else (a crash, another exception) fails the test.
bool loads(const std::vector<uint8_t>& bytes, size_t size) {
    try {
        ember::read_torch_checkpoint_bytes(bytes.data(), size, "fuzz.pt");
        return true;
    } catch (const ember::Error&) {
        return false;
    }
}

ember::Pickle run_pickle(const std::string& bytes) {
    return ember::read_pickle(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "t.pkl");
}

// data.pkl of a fixture, to exercise the pickle reader past the zip's CRC check.
std::vector<uint8_t> data_pkl(const std::string& name, const std::string& stem) {
    const std::vector<uint8_t> file = read_bytes(ember::test::fixture("checkpoint/" + name));
    const ember::ZipArchive zip(file.data(), file.size(), name);
    const ember::ZipEntry* entry = zip.find(stem + "/data.pkl");
    REQUIRE(entry);
    const uint8_t* bytes = zip.read(*entry);
    return std::vector<uint8_t>(bytes, bytes + entry->size);
}

}  // namespace

TEST_CASE("checkpoint: fixtures load with the values torch saved", "[checkpoint]") {
    const ember::JsonValue expected = ember::read_json_file(ember::test::fixture("checkpoint/expected.json"));
    REQUIRE(expected.object.size() >= 8);
    for (const auto& [file, tensors] : expected.object) {
        SECTION(file) {
            const auto loaded = ember::read_torch_checkpoint(ember::test::fixture("checkpoint/" + file));
            REQUIRE(loaded.size() == tensors.object.size());
            for (const auto& [name, want] : tensors.object) {
                INFO(file << ": " << name);
                REQUIRE(loaded.count(name) == 1);
                const ember::CheckpointTensor& got = loaded.at(name);
                std::vector<int64_t> shape;
                for (const ember::JsonValue& d : want.object.at("shape").array)
                    shape.push_back(static_cast<int64_t>(d.number));
                CHECK(got.shape == shape);
                const std::vector<ember::JsonValue>& values = want.object.at("values").array;
                REQUIRE(got.values.size() == values.size());
                for (size_t i = 0; i < values.size(); ++i)
                    CHECK(got.values[i] == static_cast<float>(values[i].number));
            }
        }
    }
}

TEST_CASE("checkpoint: Lightning dicts give the state_dict without \"model.\"", "[checkpoint]") {
    const auto loaded = ember::read_torch_checkpoint(ember::test::fixture("checkpoint/lightning.pt"));
    CHECK(loaded.count("encoder.weight") == 1);
    CHECK(loaded.count("model.encoder.weight") == 0);
    CHECK(loaded.count("extra") == 1);
    CHECK(loaded.count("epoch") == 0);
}

TEST_CASE("checkpoint: malicious pickles run nothing", "[checkpoint]") {
    std::remove(kPwned);
    REQUIRE_FALSE(exists(kPwned));
    CHECK_THAT(
        load_error("evil_os_system.pt"),
        Catch::Contains("evil_os_system.pt") && Catch::Contains("pickle global os.system is not allowed"));
    CHECK_THAT(load_error("evil_posix_system.pt"),
               Catch::Contains("pickle global posix.system is not allowed"));
    CHECK_THAT(load_error("evil_builtins_eval.pt"),
               Catch::Contains("pickle global builtins.eval is not allowed"));
    CHECK_THAT(load_error("evil_subprocess_popen.pt"),
               Catch::Contains("pickle global subprocess.Popen is not allowed"));
    CHECK_THAT(load_error("evil_top_level.pt"), Catch::Contains("pickle global os.system is not allowed"));
    // A weight whose storage would come from eval(...); protocol 2 names builtins by their Python 2 name.
    CHECK_THAT(
        load_error("evil_tensor_storage.pt"),
        Catch::Contains("pickle global __builtin__.eval is not allowed") && Catch::Contains("'weight'"));
    // The payload outside the weights: the weights load.
    const auto loaded =
        ember::read_torch_checkpoint(ember::test::fixture("checkpoint/evil_outside_weights.pt"));
    CHECK(loaded.count("weight") == 1);
    CHECK_FALSE(exists(kPwned));
}

// Routes to a call or an import that torch.save never writes: refused as
// opcodes, before anything could name a callable.
TEST_CASE("pickle: INST, OBJ and the extension registry are refused", "[checkpoint]") {
    // INST: MARK, 'ls', then "call os.system with the marked arguments".
    CHECK_THROWS_WITH(run_pickle("(X\x02\x00\x00\x00lsios\nsystem\n."s),
                      Catch::Contains("byte 8: unsupported pickle opcode 0x69"));
    // OBJ: MARK, the class os.system, 'ls', then "call it".
    CHECK_THROWS_WITH(run_pickle("(cos\nsystem\nX\x02\x00\x00\x00lso."s),
                      Catch::Contains("unsupported pickle opcode 0x6f"));
    // EXT1, EXT2, EXT4: a global by its number in copyreg's registry.
    CHECK_THROWS_WITH(run_pickle("\x80\x02\x82\x01."s), Catch::Contains("unsupported pickle opcode 0x82"));
    CHECK_THROWS_WITH(run_pickle("\x80\x02\x83\x01\x00."s), Catch::Contains("unsupported pickle opcode 0x83"));
    CHECK_THROWS_WITH(run_pickle("\x80\x02\x84\x01\x00\x00\x00."s),
                      Catch::Contains("unsupported pickle opcode 0x84"));
}

TEST_CASE("checkpoint: damaged and unsupported files give clear errors", "[checkpoint]") {
    CHECK_THAT(load_error("truncated.pt"), Catch::Contains("truncated.pt") && Catch::Contains("zip"));
    CHECK_THAT(load_error("bitflip.pt"),
               Catch::Contains("linear_layernorm/data/0 is corrupted (CRC-32 mismatch)"));
    CHECK_THAT(load_error("compressed.pt"), Catch::Contains("is compressed (method 8)"));
    CHECK_THAT(load_error("int64.pt"), Catch::Contains("'steps' has unsupported dtype torch.LongStorage"));
    CHECK_THAT(load_error("expected.json"),
               Catch::Contains("expected.json: no zip end-of-central-directory record"));
    CHECK_THAT(load_error("no_such.pt"), Catch::Contains("no_such.pt: cannot open"));
    const uint8_t legacy[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20};
    CHECK_THROWS_WITH(ember::read_torch_checkpoint_bytes(legacy, sizeof legacy, "old.pt"),
                      Catch::Contains("old.pt: legacy (pre-1.6)"));
    CHECK_THROWS_AS(ember::read_torch_checkpoint_bytes(nullptr, 0, "empty.pt"), ember::Error);
}

TEST_CASE("checkpoint: every truncation of a checkpoint throws", "[checkpoint]") {
    const std::vector<uint8_t> file = read_bytes(ember::test::fixture("checkpoint/linear_layernorm.pt"));
    REQUIRE(loads(file, file.size()));
    for (size_t size = 0; size < file.size(); ++size)
        if (loads(file, size)) FAIL_CHECK("a prefix of " << size << " bytes loaded");

    const std::vector<uint8_t> pkl = data_pkl("linear_layernorm.pt", "linear_layernorm");
    for (size_t size = 0; size < pkl.size(); ++size)
        CHECK_THROWS_AS(ember::read_pickle(pkl.data(), size, "t.pkl"), ember::Error);
}

TEST_CASE("checkpoint: random byte changes load or throw ember::Error", "[checkpoint]") {
    std::mt19937 random(20240601);
    for (const char* name : {"linear_layernorm.pt", "noncontiguous.pt", "lightning.pt"}) {
        const std::vector<uint8_t> good = read_bytes(ember::test::fixture(std::string("checkpoint/") + name));
        for (int trial = 0; trial < 1500; ++trial) {
            std::vector<uint8_t> bad = good;
            for (int flips = 1 + trial % 3; flips > 0; --flips)
                bad[random() % bad.size()] ^= static_cast<uint8_t>(1 + random() % 255);
            loads(bad, bad.size());
        }
    }
    // The zip's CRC stops most changes to data.pkl, so the pickle reader is hit directly too.
    for (const auto& [name, stem] :
         {std::pair{"noncontiguous.pt", "noncontiguous"}, std::pair{"evil_os_system.pt", "evil_os_system"}}) {
        const std::vector<uint8_t> good = data_pkl(name, stem);
        for (int trial = 0; trial < 5000; ++trial) {
            std::vector<uint8_t> bad = good;
            for (int flips = 1 + trial % 3; flips > 0; --flips)
                bad[random() % bad.size()] ^= static_cast<uint8_t>(1 + random() % 255);
            try {
                ember::read_pickle(bad.data(), bad.size(), "t.pkl");
            } catch (const ember::Error&) {
            }
        }
    }
}

TEST_CASE("pickle: crafted streams stay bounded", "[checkpoint]") {
    using Kind = ember::PickleValue::Kind;
    // 200000 lists, each inside the next: no recursion to overflow the stack.
    std::string nested = "\x80\x02]q\x00"s;
    for (int i = 0; i < 200000; ++i) nested += "]h\x00"s + "aq\x00"s + "0";
    nested += "h\x00."s;
    CHECK(run_pickle(nested).values.size() == 200001);
    // A list holding itself.
    const ember::Pickle cycle = run_pickle("]q\x00h\x00"s + "a.");
    CHECK(cycle.values[cycle.root].kind == Kind::list);
    CHECK(cycle.values[cycle.root].items.at(0) == cycle.root);

    CHECK_THROWS_WITH(run_pickle("Nr\xff\xff\xff\xff."s), Catch::Contains("memo index 4294967295"));
    CHECK_THROWS_WITH(run_pickle("h\x05."), Catch::Contains("never stored"));
    CHECK_THROWS_WITH(run_pickle("\x8d\xff\xff\xff\xff\xff\xff\xff\x7f."s),
                      Catch::Contains("t.pkl: byte 0: truncated pickle"));
    CHECK_THROWS_WITH(run_pickle("X\x10\x00\x00\x00"s + "abc."), Catch::Contains("truncated"));
    CHECK_THROWS_WITH(run_pickle("a."), Catch::Contains("byte 0: stack underflow"));
    CHECK_THROWS_WITH(run_pickle("(N1."), Catch::Contains("byte 3: stack underflow"));
    CHECK_THROWS_WITH(run_pickle("N"), Catch::Contains("truncated"));
    CHECK_THROWS_WITH(run_pickle("NI1\n."), Catch::Contains("byte 1: unsupported pickle opcode 0x49"));
    CHECK_THROWS_WITH(run_pickle("\x80\x09."), Catch::Contains("protocol 9"));
    CHECK_THROWS_WITH(run_pickle("\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09."),
                      Catch::Contains("64 bits"));
}

TEST_CASE("pickle: values torch does not write still decode", "[checkpoint]") {
    using Kind = ember::PickleValue::Kind;
    // protocol 4: FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL, EMPTY_DICT, SETITEM, LONG1, BINFLOAT
    const std::string bytes = "\x80\x04\x95\x30\x00\x00\x00\x00\x00\x00\x00"s +
                              "\x8c\x0b"
                              "collections\x94\x8c\x0b"
                              "OrderedDict\x94\x93)R"s +
                              "\x8c\x01"
                              "a\x8a\x02\x00\xffs"s +
                              "\x8c\x01"
                              "bG\x3f\xf8\x00\x00\x00\x00\x00\x00s."s;
    const ember::Pickle pickle = run_pickle(bytes);
    const ember::PickleValue& dict = pickle.values[pickle.root];
    REQUIRE(dict.kind == Kind::dict);
    REQUIRE(dict.items.size() == 4);
    CHECK(pickle.values[dict.items[1]].integer == -256);
    CHECK(pickle.values[dict.items[3]].floating == 1.5);
}

TEST_CASE("pickle: torch.Size and torch.device rebuild to their contents", "[checkpoint]") {
    using Kind = ember::PickleValue::Kind;
    const ember::Pickle size = run_pickle("ctorch\nSize\nK\x02K\x03\x86\x85R."s);
    REQUIRE(size.values[size.root].kind == Kind::tuple);
    CHECK(size.values[size.root].items.size() == 2);
    const ember::Pickle device = run_pickle("ctorch\ndevice\nX\x03\x00\x00\x00"s + "cpu\x85R.");
    CHECK(device.values[device.root].text == "cpu");
    // Anything else called stays an inert object that remembers what it would have called.
    const ember::Pickle call = run_pickle("cos\nsystem\nX\x02\x00\x00\x00ls\x85R."s);
    REQUIRE(call.values[call.root].kind == Kind::object);
    CHECK(call.values[call.values[call.root].integer].text == "os.system");
}
