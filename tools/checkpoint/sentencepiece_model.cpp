#include "tools/checkpoint/sentencepiece_model.h"

#include <cstring>
#include <fstream>
#include <iterator>

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
};

}  // namespace

SentencePieceVocabulary parse_sentencepiece_model(const uint8_t* data, size_t size, const std::string& origin) {
    SentencePieceVocabulary vocabulary;
    ProtoReader model{data, data + size, origin};
    while (!model.done()) {
        const uint64_t key = model.varint();
        const uint32_t field = static_cast<uint32_t>(key >> 3), wire_type = key & 7;
        if (field != 1 || wire_type != 2) {  // ModelProto.pieces = 1; everything else is skipped
            model.skip(wire_type);
            continue;
        }
        ProtoReader piece = model.sub_message();
        std::string text;
        float score = 0.0f;
        int32_t type = 1;  // NORMAL, the proto default
        while (!piece.done()) {
            const uint64_t piece_key = piece.varint();
            const uint32_t piece_field = static_cast<uint32_t>(piece_key >> 3), piece_wire = piece_key & 7;
            if (piece_field == 1 && piece_wire == 2) {
                ProtoReader bytes = piece.sub_message();
                text.assign(reinterpret_cast<const char*>(bytes.at), static_cast<size_t>(bytes.end - bytes.at));
            } else if (piece_field == 2 && piece_wire == 5) {
                const uint32_t bits = piece.fixed32();
                std::memcpy(&score, &bits, sizeof score);
            } else if (piece_field == 3 && piece_wire == 0) {
                type = static_cast<int32_t>(piece.varint());
            } else {
                piece.skip(piece_wire);
            }
        }
        vocabulary.pieces.push_back(std::move(text));
        vocabulary.scores.push_back(score);
        vocabulary.types.push_back(type);
    }
    if (vocabulary.pieces.empty()) fail(origin, ": no SentencePiece pieces found (not a SentencePiece .model file?)");
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
