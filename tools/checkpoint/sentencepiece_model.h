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
    // The names SentencePieceProcessor looks up for unk_id(), bos_id(),
    // eos_id() and pad_id(): TrainerSpec.unk_piece/bos_piece/eos_piece/
    // pad_piece, or "<unk>", "<s>", "</s>", "<pad>" when absent or empty.
    // (TrainerSpec.unk_id/bos_id/... only steer training; the processor never
    // reads them.) sentencepiece_special_ids() (model/tokenizer.h) turns
    // these names into ids.
    std::string unk_piece = "<unk>";
    std::string bos_piece = "<s>";
    std::string eos_piece = "</s>";
    std::string pad_piece = "<pad>";
};

// Throws ember::Error naming `origin` on malformed protobuf, and on a model
// sentencepiece itself refuses to load: no pieces, an empty piece, a piece
// defined twice, no unknown piece or more than one.
SentencePieceVocabulary parse_sentencepiece_model(const uint8_t* data, size_t size, const std::string& origin);
SentencePieceVocabulary read_sentencepiece_model(const std::string& path);

}  // namespace ember
