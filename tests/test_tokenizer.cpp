// SentencePiece models and detokenization against sentencepiece and torchaudio,
// from tests/fixtures/sentencepiece (tests/python/make_sentencepiece_fixtures.py).
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <random>

#include "engine/ember_file.h"
#include "model/model.h"
#include "model/tokenizer.h"
#include "tests/test_support.h"
#include "tools/checkpoint/json.h"
#include "tools/checkpoint/sentencepiece_model.h"

using Catch::Matchers::Contains;
using ember::JsonValue;
using ember::ModelMetadata;
using ember::SentencePieceVocabulary;

namespace {

const JsonValue& expected_json() {
    static const JsonValue json = ember::read_json_file(ember::test::fixture("sentencepiece/expected.json"));
    return json;
}

const JsonValue& member(const JsonValue& object, const std::string& key) {
    const auto it = object.object.find(key);
    if (it == object.object.end()) FAIL("expected.json: no key " << key);
    return it->second;
}

int64_t integer(const JsonValue& object, const std::string& key) {
    return static_cast<int64_t>(member(object, key).number);
}

std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The metadata `ember convert --sentencepiece` builds (tools/verb_convert.cpp).
ModelMetadata metadata_from(SentencePieceVocabulary vocabulary) {
    using namespace ember;
    ModelMetadata m;
    m.vocabulary = vocabulary.pieces;
    m.vocabulary_scores = vocabulary.scores;
    m.vocabulary_types = vocabulary.types;
    const auto id = [&](const std::string& name, int32_t type) {
        return sentencepiece_special_id(m.vocabulary, m.vocabulary_types, name, type);
    };
    m.unk_id = id(vocabulary.unk_piece, sentencepiece_unknown);
    m.bos_id = id(vocabulary.bos_piece, sentencepiece_control);
    m.eos_id = id(vocabulary.eos_piece, sentencepiece_control);
    m.pad_id = id(vocabulary.pad_piece, sentencepiece_control);
    return m;
}

std::vector<int64_t> tokens_of(const JsonValue& json_case) {
    std::vector<int64_t> tokens;
    for (const JsonValue& t : member(json_case, "tokens").array) tokens.push_back(static_cast<int64_t>(t.number));
    return tokens;
}

// Writes `metadata` to a tensor-less .ember file and decodes it again.
ModelMetadata round_trip(const ModelMetadata& metadata, const std::string& name,
                         const std::vector<std::string>& drop_keys = {}) {
    auto entries = ember::model_metadata_entries(metadata);
    for (const std::string& key : drop_keys)
        entries.erase(std::remove_if(entries.begin(), entries.end(), [&](const auto& e) { return e.first == key; }),
                      entries.end());
    const std::string path = ember::test::scratch(name);
    ember::write_ember_file(path, entries, {});
    return ember::decode_model_metadata(ember::open_ember_file(path));
}

ModelMetadata fixture_metadata(const std::string& file) {
    return metadata_from(ember::read_sentencepiece_model(ember::test::fixture("sentencepiece/" + file)));
}

}  // namespace

TEST_CASE("sentencepiece: pieces and scores and types and special ids as sentencepiece has them", "[tokenizer]") {
    const JsonValue& models = member(expected_json(), "models");
    REQUIRE(models.array.size() >= 10);
    for (const JsonValue& model : models.array) {
        const std::string file = member(model, "file").string;
        INFO(file << ": " << member(model, "how").string);
        const SentencePieceVocabulary v =
            ember::read_sentencepiece_model(ember::test::fixture("sentencepiece/" + file));
        const auto& pieces = member(model, "pieces").array;
        REQUIRE(v.pieces.size() == pieces.size());
        REQUIRE(v.scores.size() == pieces.size());
        REQUIRE(v.types.size() == pieces.size());
        for (size_t i = 0; i < pieces.size(); ++i) {
            INFO("piece " << i);
            REQUIRE(v.pieces[i] == pieces[i].string);
            REQUIRE(v.scores[i] == static_cast<float>(member(model, "scores").array[i].number));
            REQUIRE(v.types[i] == static_cast<int32_t>(member(model, "types").array[i].number));
        }
        const ModelMetadata m = metadata_from(v);
        CHECK(m.unk_id == integer(model, "unk_id"));
        CHECK(m.bos_id == integer(model, "bos_id"));
        CHECK(m.eos_id == integer(model, "eos_id"));
        CHECK(m.pad_id == integer(model, "pad_id"));
    }
}

TEST_CASE("sentencepiece: the special ids follow the piece names and types and not TrainerSpec ids", "[tokenizer]") {
    // TrainerSpec.pad_id is -1, but a control piece "<pad>" exists.
    CHECK(fixture_metadata("bpe_symbols.model").pad_id == 3);
    // A user-defined "<pad>" is no pad.
    CHECK(fixture_metadata("unigram_user_pad.model").pad_id == -1);
    // --bos_id=-1 --eos_id=-1: no such pieces.
    const ModelMetadata char_model = fixture_metadata("char_no_bos_eos.model");
    CHECK((char_model.bos_id == -1 && char_model.eos_id == -1));
    // Renamed and renumbered.
    const ModelMetadata custom = fixture_metadata("unigram_custom_names.model");
    CHECK((custom.unk_id == 3 && custom.bos_id == 0 && custom.eos_id == 1 && custom.pad_id == 2));
    CHECK(custom.vocabulary[3] == "<UNK>");
    // Empty names mean the defaults, which this model does not have; an
    // unfound name falls back to the unknown piece.
    const ModelMetadata empty = fixture_metadata("crafted_empty_names.model");
    CHECK((empty.unk_id == 3 && empty.bos_id == -1 && empty.eos_id == -1 && empty.pad_id == -1));
    // A name ends at an embedded NUL, as the C string sentencepiece looks up.
    const ModelMetadata nul = fixture_metadata("crafted_nul_in_name.model");
    CHECK((nul.bos_id == 0 && nul.eos_id == -1));
}

TEST_CASE("detokenize: equals torchaudio's _SentencePieceTokenProcessor", "[tokenizer]") {
    size_t checked = 0, errors = 0;
    for (const JsonValue& model : member(expected_json(), "models").array) {
        const std::string file = member(model, "file").string;
        const ModelMetadata m = fixture_metadata(file);
        for (const JsonValue& json_case : member(model, "detokenize").array) {
            const std::vector<int64_t> tokens = tokens_of(json_case);
            std::string shown;
            for (int64_t t : tokens) shown += std::to_string(t) + " ";
            INFO(file << ": tokens " << shown);
            if (json_case.object.count("error")) {
                REQUIRE_THROWS_WITH(ember::detokenize(m, tokens), Contains("is outside the vocabulary"));
                ++errors;
                continue;
            }
            REQUIRE(ember::detokenize(m, tokens) == member(json_case, "lstrip").string);
            REQUIRE(ember::detokenize(m, tokens, true) == member(json_case, "lstrip").string);
            REQUIRE(ember::detokenize(m, tokens, false) == member(json_case, "no_lstrip").string);
            ++checked;
        }
    }
    CHECK(checked > 800);
    CHECK(errors > 20);
}

TEST_CASE("detokenize: the rules on a hand-made vocabulary", "[tokenizer]") {
    ModelMetadata m;
    m.vocabulary = {"<unk>", "<s>", "</s>", "<pad>", "\xe2\x96\x81" "a", "b", "\xe2\x80\x83", "\xe2\x80\x8b", "<0x41>"};
    m.vocabulary_types = {2, 3, 3, 3, 1, 1, 4, 4, 6};
    m.unk_id = 0, m.bos_id = 1, m.eos_id = 2, m.pad_id = 3;
    using ember::detokenize;
    CHECK(detokenize(m, {}) == "");
    CHECK(detokenize(m, {4}) == "");                        // the first token is always dropped
    CHECK(detokenize(m, {99, 4, 5}) == "ab");               // even outside the vocabulary
    CHECK(detokenize(m, {0, 4, 5}, false) == " ab");
    CHECK(detokenize(m, {0, 0, 2, 3, 5}) == "b");           // unk, eos, pad dropped
    CHECK(detokenize(m, {0, 1, 4}) == "<s> a");             // bos kept, literally
    CHECK(detokenize(m, {0, 6, 4, 5}) == "ab");             // U+2003 EM SPACE is Python whitespace
    CHECK(detokenize(m, {0, 7, 4}) == "\xe2\x80\x8b a");    // U+200B is not
    CHECK(detokenize(m, {0, 8}) == "<0x41>");               // byte pieces are text like any other
    REQUIRE_THROWS_WITH(detokenize(m, {0, 5, 9}),
                        "detokenize: token 9 at position 2 is outside the vocabulary [0, 9)");
    REQUIRE_THROWS_WITH(detokenize(m, {0, -1}), Contains("token -1 at position 1"));
    m.pad_id = -1;  // torchaudio's removal set then holds -1
    CHECK(detokenize(m, {0, -1, 5}) == "b");
    REQUIRE_THROWS_WITH(detokenize(ModelMetadata{}, {0, 1}), Contains("no vocabulary"));
}

TEST_CASE("strip_whitespace: Python's strip on UTF-8, malformed bytes never whitespace", "[tokenizer]") {
    using ember::strip_whitespace;
    const std::string text = " \t\xc2\x85" "a b" "\xe3\x80\x80\n ";  // U+0085 and U+3000 are whitespace
    CHECK(strip_whitespace(text, true, false) == "a b\xe3\x80\x80\n ");
    CHECK(strip_whitespace(text, false, true) == " \t\xc2\x85" "a b");
    CHECK(strip_whitespace(text, true, true) == "a b");
    CHECK(strip_whitespace(text, false, false) == text);
    CHECK(strip_whitespace(" \xe2\x80\x83\n", true, false).empty());
    CHECK(strip_whitespace(" \xe2\x80\x83\n", false, true).empty());
    CHECK(strip_whitespace(" \xe2\x80\x83\n", false, false) == " \xe2\x80\x83\n");
    CHECK(strip_whitespace("", true, true).empty());
    // A truncated sequence, a stray continuation byte after a space, an
    // overlong form of U+0020 and a lead byte before a space's last bytes.
    CHECK(strip_whitespace("a \xe2\x80", true, true) == "a \xe2\x80");
    CHECK(strip_whitespace("a \x80", true, true) == "a \x80");
    CHECK(strip_whitespace("\xc2\x85\x85 ", true, true) == "\x85");
    CHECK(strip_whitespace("\xe0\x80\xa0" "a\xc0\xa0", true, true) == "\xe0\x80\xa0" "a\xc0\xa0");
    CHECK(strip_whitespace("a\xe2\xe3\x80\x80", true, true) == "a\xe2");
}

TEST_CASE("sentencepiece: files sentencepiece refuses are refused with a clear error", "[tokenizer]") {
    const std::map<std::string, std::string> reasons = {
        {"invalid_no_unknown.model", "no SentencePiece piece has the unknown type"},
        {"invalid_two_unknowns.model", "are both the unknown piece"},
        {"invalid_duplicate_piece.model", "is defined twice"},
        {"invalid_empty_piece.model", "is empty"},
        {"invalid_truncated.model", "protobuf"},
        {"invalid_random_bytes.model", "protobuf"},
        {"invalid_text.model", "protobuf"},
        {"invalid_empty.model", "no SentencePiece pieces found"},
    };
    const JsonValue& invalid = member(expected_json(), "invalid");
    REQUIRE(invalid.array.size() == reasons.size());
    for (const JsonValue& entry : invalid.array) {
        const std::string file = member(entry, "file").string;
        INFO(file << " (sentencepiece: " << member(entry, "sentencepiece_error").string << ")");
        const std::string path = ember::test::fixture("sentencepiece/" + file);
        REQUIRE_THROWS_WITH(ember::read_sentencepiece_model(path), Contains(path + ": ") && Contains(reasons.at(file)));
    }
}

TEST_CASE("sentencepiece: every truncation and random bytes give an ember::Error or a valid vocabulary",
          "[tokenizer]") {
    const std::vector<uint8_t> bytes = read_bytes(ember::test::fixture("sentencepiece/unigram_default.model"));
    REQUIRE(bytes.size() > 1000);
    size_t refused = 0;
    for (size_t size = 0; size < bytes.size(); ++size) {
        try {
            const SentencePieceVocabulary v = ember::parse_sentencepiece_model(bytes.data(), size, "cut.model");
            REQUIRE(!v.pieces.empty());  // cut at a field boundary: fewer fields, still well-formed
        } catch (const ember::Error& error) {
            REQUIRE_THAT(error.what(), Contains("cut.model: "));
            ++refused;
        }
    }
    CHECK(refused > bytes.size() / 2);
    // Inside the first piece: a length running past the end.
    REQUIRE_THROWS_WITH(ember::parse_sentencepiece_model(bytes.data(), 5, "cut.model"),
                        Contains("runs past the end") || Contains("truncated"));

    std::mt19937 rng(1234);
    for (int trial = 0; trial < 300; ++trial) {
        std::vector<uint8_t> noise(1 + rng() % 600);
        for (uint8_t& b : noise) b = static_cast<uint8_t>(rng());
        REQUIRE_THROWS_AS(ember::parse_sentencepiece_model(noise.data(), noise.size(), "noise.model"), ember::Error);
    }
    REQUIRE_THROWS_WITH(ember::read_sentencepiece_model(ember::test::scratch("no_such.model")),
                        Contains("no_such.model: cannot open"));
}

TEST_CASE("sentencepiece ids in the .ember file: written and read back and checked", "[tokenizer]") {
    const ModelMetadata custom = fixture_metadata("unigram_custom_names.model");
    const ModelMetadata read = round_trip(custom, "tokenizer_ids.ember");
    CHECK(read.vocabulary == custom.vocabulary);
    CHECK((read.unk_id == 3 && read.bos_id == 0 && read.eos_id == 1 && read.pad_id == 2));
    CHECK(ember::open_ember_file(ember::test::scratch("tokenizer_ids.ember")).version_major == 2);

    SECTION("a 1.0 file without the id keys: found under the default names") {
        const std::vector<std::string> ids = {"tokenizer.unk_id", "tokenizer.bos_id", "tokenizer.eos_id",
                                              "tokenizer.pad_id"};
        const ModelMetadata pad3 = round_trip(fixture_metadata("bpe_pad3.model"), "tokenizer_1_0.ember", ids);
        CHECK((pad3.unk_id == 0 && pad3.bos_id == 1 && pad3.eos_id == 2 && pad3.pad_id == 3));
    }
    SECTION("an id outside the vocabulary") {
        ModelMetadata bad = custom;
        bad.eos_id = 100;
        REQUIRE_THROWS_WITH(round_trip(bad, "tokenizer_bad.ember"),
                            Contains("tokenizer.eos_id = 100 is neither -1 nor a piece id in [0, 100)"));
    }
    SECTION("an id naming a piece of the wrong type") {
        ModelMetadata bad = custom;
        bad.bos_id = 10;
        REQUIRE_THROWS_WITH(round_trip(bad, "tokenizer_bad.ember"),
                            Contains("tokenizer.bos_id = 10 names piece") && Contains("expected type 3 (control)"));
        bad = custom;
        bad.unk_id = 0;
        REQUIRE_THROWS_WITH(round_trip(bad, "tokenizer_bad.ember"), Contains("expected type 2 (unknown)"));
    }
    SECTION("some id keys but not all") {
        REQUIRE_THROWS_WITH(round_trip(custom, "tokenizer_bad.ember", {"tokenizer.pad_id"}),
                            Contains("metadata tokenizer.pad_id is missing"));
    }
    SECTION("id keys without pieces") {
        REQUIRE_THROWS_WITH(
            round_trip(custom, "tokenizer_bad.ember", {"tokenizer.pieces", "tokenizer.scores", "tokenizer.types"}),
            Contains("metadata tokenizer.unk_id without tokenizer.pieces"));
    }
}

namespace {

// `ember convert` on a committed transcriber checkpoint, with a SentencePiece model.
ember::test::CommandResult convert_with(const std::string& sentencepiece, const std::string& out) {
    const std::string dir = ember::test::fixture("transcriber/s1_relu_1layer_1head/");
    return ember::test::run_ember("convert --checkpoint " + dir + "model.pt --config " + dir + "config.json" +
                                  " --sentencepiece " + ember::test::fixture("sentencepiece/" + sentencepiece) +
                                  " -o " + out);
}

}  // namespace

TEST_CASE("ember convert --sentencepiece stores the ids and ember info --pieces shows them", "[tokenizer]") {
    const std::string out = ember::test::scratch("tokenizer_convert.ember");
    REQUIRE(convert_with("crafted_two_trainer_specs.model", out).exit_code == 0);
    const ember::Model model = ember::load_model(out);
    // bos_piece "</s>" and pad_piece "<s>" from the second TrainerSpec
    CHECK((model.metadata.unk_id == 0 && model.metadata.bos_id == 2 && model.metadata.eos_id == 2 &&
           model.metadata.pad_id == 1));
    const auto info = ember::test::run_ember("info " + out);
    CHECK_THAT(info.output, Contains("vocabulary:      150 SentencePiece pieces; unk 0, bos 2, eos 2, pad 1"));
    const auto pieces = ember::test::run_ember("info --pieces " + out);
    REQUIRE(pieces.exit_code == 0);
    const JsonValue json = ember::parse_json(pieces.output, "ember info --pieces");
    REQUIRE(member(json, "pieces").array.size() == 150);
    CHECK(member(json, "pieces").array[3].string == model.metadata.vocabulary[3]);
    CHECK(integer(json, "pad_id") == 1);

    const auto bad = convert_with("invalid_no_unknown.model", out + ".bad");
    CHECK(bad.exit_code == 1);
    CHECK_THAT(bad.output, Contains("no SentencePiece piece has the unknown type"));
}
