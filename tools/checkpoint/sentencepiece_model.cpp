#include "tools/checkpoint/sentencepiece_model.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <set>

#include "engine/error.h"

namespace ember {

namespace {

// A cursor over protobuf wire-format bytes.
struct ProtoReader {
    const uint8_t* at;
    const uint8_t* end;
    const std::string& origin;

    bool done() const { return at >= end; }

    uint64_t varint() {
        uint64_t value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (at >= end) fail(origin, ": truncated protobuf varint");
            const uint8_t byte = *at++;
            value |= static_cast<uint64_t>(byte & 0x7f) << shift;
            if (!(byte & 0x80)) return value;
        }
        fail(origin, ": protobuf varint longer than 10 bytes");
    }
    ProtoReader sub_message() {
        const uint64_t length = varint();
        if (length > static_cast<uint64_t>(end - at)) fail(origin, ": protobuf field runs past the end of the file");
        ProtoReader sub{at, at + length, origin};
        at += length;
        return sub;
    }
    uint32_t fixed32() {
        if (end - at < 4) fail(origin, ": truncated protobuf fixed32");
        uint32_t v = static_cast<uint32_t>(at[0]) | (static_cast<uint32_t>(at[1]) << 8) |
                     (static_cast<uint32_t>(at[2]) << 16) | (static_cast<uint32_t>(at[3]) << 24);
        at += 4;
        return v;
    }
    void skip(uint32_t wire_type) {
        switch (wire_type) {
            case 0: varint(); return;
            case 1:
                if (end - at < 8) fail(origin, ": truncated protobuf fixed64");
                at += 8;
                return;
            case 2: sub_message(); return;
            case 5: fixed32(); return;
            default: fail(origin, ": unsupported protobuf wire type ", wire_type, " (not a SentencePiece model?)");
        }
    }
    std::string bytes() {
        ProtoReader field = sub_message();
        return std::string(reinterpret_cast<const char*>(field.at), static_cast<size_t>(field.end - field.at));
    }
};

struct FieldKey {
    uint32_t field;
    uint32_t wire_type;
};

FieldKey read_key(ProtoReader& reader) {
    const uint64_t key = reader.varint();
    return {static_cast<uint32_t>(key >> 3), static_cast<uint32_t>(key & 7)};
}

// protobuf wire types used below
constexpr uint32_t kVarint = 0, kBytes = 2, kFixed32 = 5;

// ModelProto.SentencePiece.Type
constexpr int32_t kNormal = 1, kUnknown = 2, kUserDefined = 4, kUnused = 5, kMaxType = 6;

// One ModelProto.SentencePiece: piece = 1 (string), score = 2 (float), type = 3 (enum).
void read_piece(ProtoReader piece, SentencePieceVocabulary& vocabulary) {
    std::string text;
    float score = 0.0f;
    int32_t type = kNormal;  // the proto default
    while (!piece.done()) {
        const FieldKey key = read_key(piece);
        if (key.field == 1 && key.wire_type == kBytes) {
            text = piece.bytes();
        } else if (key.field == 2 && key.wire_type == kFixed32) {
            const uint32_t bits = piece.fixed32();
            std::memcpy(&score, &bits, sizeof score);
        } else if (key.field == 3 && key.wire_type == kVarint) {
            // proto2 sets aside an enum value it does not know and leaves the
            // field as it was, so sentencepiece sees such a piece as NORMAL.
            const int32_t value = static_cast<int32_t>(piece.varint());
            if (value >= kNormal && value <= kMaxType) type = value;
        } else {
            piece.skip(key.wire_type);
        }
    }
    vocabulary.pieces.push_back(std::move(text));
    vocabulary.scores.push_back(score);
    vocabulary.types.push_back(type);
}

// The TrainerSpec fields naming the special pieces: unk_piece = 45,
// bos_piece = 46, eos_piece = 47, pad_piece = 48 (strings). A later
// occurrence overrides an earlier one, also across repeated trainer_spec
// messages, which protobuf merges.
void read_trainer_spec(ProtoReader spec, std::string* names[4]) {
    while (!spec.done()) {
        const FieldKey key = read_key(spec);
        if (key.field >= 45 && key.field <= 48 && key.wire_type == kBytes)
            *names[key.field - 45] = spec.bytes();
        else
            spec.skip(key.wire_type);
    }
}

// What ModelInterface::unk_piece() and friends return, as the C string the
// processor's id lookup sees: the default when the field is empty, and
// nothing past an embedded NUL.
std::string special_piece_name(const std::string& name, const char* fallback) {
    if (name.empty()) return fallback;
    return name.substr(0, name.find('\0'));
}

// sentencepiece's ModelInterface::InitializePieces refuses these models.
void check_loadable(const SentencePieceVocabulary& vocabulary, const std::string& origin) {
    if (vocabulary.pieces.empty()) fail(origin, ": no SentencePiece pieces found (not a SentencePiece .model file?)");
    // Normal, user-defined and unused pieces share one name table; unknown,
    // control and byte pieces another. A name may appear once in each.
    std::set<std::string> names[2];
    int64_t unknown = -1;
    for (size_t id = 0; id < vocabulary.pieces.size(); ++id) {
        const std::string& piece = vocabulary.pieces[id];
        const int32_t type = vocabulary.types[id];
        if (piece.empty()) fail(origin, ": SentencePiece piece ", id, " is empty");
        const bool normal = type == kNormal || type == kUserDefined || type == kUnused;
        if (!names[normal ? 0 : 1].insert(piece).second)
            fail(origin, ": SentencePiece piece '", piece, "' (id ", id, ") is defined twice");
        if (type == kUnknown) {
            if (unknown >= 0)
                fail(origin, ": SentencePiece pieces ", unknown, " and ", id, " are both the unknown piece");
            unknown = static_cast<int64_t>(id);
        }
    }
    if (unknown < 0) fail(origin, ": no SentencePiece piece has the unknown type");
}

}  // namespace

SentencePieceVocabulary parse_sentencepiece_model(const uint8_t* data, size_t size, const std::string& origin) {
    SentencePieceVocabulary vocabulary;
    std::string names[4];  // TrainerSpec unk_piece, bos_piece, eos_piece, pad_piece as written
    std::string* name_fields[4] = {&names[0], &names[1], &names[2], &names[3]};
    ProtoReader model{data, data + size, origin};
    while (!model.done()) {
        const FieldKey key = read_key(model);
        if (key.field == 1 && key.wire_type == kBytes)  // ModelProto.pieces = 1
            read_piece(model.sub_message(), vocabulary);
        else if (key.field == 2 && key.wire_type == kBytes)  // ModelProto.trainer_spec = 2
            read_trainer_spec(model.sub_message(), name_fields);
        else
            model.skip(key.wire_type);
    }
    check_loadable(vocabulary, origin);
    vocabulary.unk_piece = special_piece_name(names[0], "<unk>");
    vocabulary.bos_piece = special_piece_name(names[1], "<s>");
    vocabulary.eos_piece = special_piece_name(names[2], "</s>");
    vocabulary.pad_piece = special_piece_name(names[3], "<pad>");
    return vocabulary;
}

SentencePieceVocabulary read_sentencepiece_model(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, ": cannot open: ", std::strerror(errno));
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) fail(path, ": read error");
    return parse_sentencepiece_model(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

}  // namespace ember
