// Token ids -> text, the way torchaudio 0.13.1's pipelines do it
// (_SentencePieceTokenProcessor in torchaudio/pipelines/rnnt_pipeline.py),
// from the SentencePiece vocabulary stored in the .ember file.
//
//     const Model model = load_model("model.ember");
//     std::string text = detokenize(model.metadata, hypothesis_tokens);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"

namespace ember {

// SentencePiece piece types (ModelProto.SentencePiece.Type).
constexpr int32_t sentencepiece_normal = 1, sentencepiece_unknown = 2, sentencepiece_control = 3,
                  sentencepiece_user_defined = 4, sentencepiece_unused = 5, sentencepiece_byte = 6;

// What SentencePieceProcessor::unk_id() (wanted_type unknown) or bos_id(),
// eos_id(), pad_id() (wanted_type control) return: `name` (the TrainerSpec's
// unk_piece, bos_piece, ...) is looked up as ModelInterface::PieceToId does --
// among unknown, control and byte pieces first, then among the others, and
// an unfound name maps to the unknown piece -- and the id is kept only when
// that piece has `wanted_type`; otherwise -1. So `--bos_id=-1` gives -1 (no
// piece "<s>"), and so does a user-defined "<pad>".
int64_t sentencepiece_special_id(const std::vector<std::string>& pieces, const std::vector<int32_t>& types,
                                 const std::string& name, int32_t wanted_type);

// torchaudio's _SentencePieceTokenProcessor(tokens, lstrip): drops the first
// token (the hypothesis' leading blank), then every token equal to
// metadata.unk_id, eos_id or pad_id (bos is kept, as "<s>" or whatever its
// piece is; when one of those ids is -1, a token -1 is dropped too, as in
// torchaudio), joins the pieces of the rest, turns each U+2581 into a space
// and, with `lstrip`, removes leading whitespace as Python's str.lstrip()
// does (every code point for which str.isspace() is true).
// Throws ember::Error when the model has no vocabulary or when a kept token
// lies outside [0, vocabulary size) -- where torchaudio raises IndexError.
std::string detokenize(const ModelMetadata& metadata, const std::vector<int64_t>& tokens, bool lstrip = true);

// Python's str.lstrip() / rstrip() / strip() on UTF-8 text: removes the code
// points str.isspace() accepts from the chosen ends.
std::string strip_whitespace(const std::string& text, bool left, bool right);

}  // namespace ember
