// Reads the vocabulary of a SentencePiece `.model` file (a serialized
// sentencepiece.ModelProto protobuf) without the sentencepiece library.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ember {

struct SentencePieceVocabulary {
    std::vector<std::string> pieces;  // by id
    std::vector<float> scores;
    std::vector<int32_t> types;       // ModelProto.SentencePiece.Type: 1 normal, 2 unknown, 3 control, ...
};

// Throws ember::Error naming `origin` on malformed protobuf or an empty vocabulary.
SentencePieceVocabulary parse_sentencepiece_model(const uint8_t* data, size_t size, const std::string& origin);
SentencePieceVocabulary read_sentencepiece_model(const std::string& path);

}  // namespace ember
