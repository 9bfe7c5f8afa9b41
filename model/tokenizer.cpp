#include "model/tokenizer.h"

#include <utility>

#include "engine/error.h"

namespace ember {

namespace {

bool shares_normal_table(int32_t type) {
    return type == sentencepiece_normal || type == sentencepiece_user_defined || type == sentencepiece_unused;
}

// The code point starting at text[at] and its length in bytes; {-1, 1} for a
// byte that does not start a well-formed sequence, overlong forms included
// (never whitespace, so stripping stops there).
std::pair<int32_t, size_t> code_point_at(const std::string& text, size_t at) {
    const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
    const uint8_t lead = byte(at);
    if (lead < 0x80) return {lead, 1};
    const size_t length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
    if (length == 0 || at + length > text.size()) return {-1, 1};
    int32_t value = lead & (0x7f >> length);
    for (size_t i = 1; i < length; ++i) {
        if ((byte(at + i) & 0xc0) != 0x80) return {-1, 1};
        value = (value << 6) | (byte(at + i) & 0x3f);
    }
    static const int32_t shortest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (value < shortest[length]) return {-1, 1};
    return {value, length};
}

// Python's str.isspace(): bidirectional class WS, B or S, or category Zs.
bool python_isspace(int32_t c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

}  // namespace

int64_t sentencepiece_special_id(const std::vector<std::string>& pieces, const std::vector<int32_t>& types,
                                 const std::string& name, int32_t wanted_type) {
    EMBER_CHECK(types.size() == pieces.size(), "SentencePiece vocabulary: ", pieces.size(), " pieces but ",
                types.size(), " types");
    int64_t reserved = -1, normal = -1, unknown = -1;
    for (size_t id = 0; id < pieces.size(); ++id) {
        if (types[id] == sentencepiece_unknown && unknown < 0) unknown = static_cast<int64_t>(id);
        if (pieces[id] != name) continue;
        int64_t& slot = shares_normal_table(types[id]) ? normal : reserved;
        if (slot < 0) slot = static_cast<int64_t>(id);
    }
    const int64_t id = reserved >= 0 ? reserved : normal >= 0 ? normal : unknown;
    return id >= 0 && types[static_cast<size_t>(id)] == wanted_type ? id : -1;
}

std::string detokenize(const ModelMetadata& metadata, const std::vector<int64_t>& tokens, bool lstrip) {
    const std::vector<std::string>& pieces = metadata.vocabulary;
    if (pieces.empty()) fail("detokenize: the model has no vocabulary (convert it with --sentencepiece)");
    const int64_t size = static_cast<int64_t>(pieces.size());
    std::string joined;
    for (size_t i = 1; i < tokens.size(); ++i) {
        const int64_t token = tokens[i];
        if (token == metadata.unk_id || token == metadata.eos_id || token == metadata.pad_id) continue;
        if (token < 0 || token >= size)
            fail("detokenize: token ", token, " at position ", i, " is outside the vocabulary [0, ", size, ")");
        joined += pieces[static_cast<size_t>(token)];
    }
    static const std::string word_start = "\xe2\x96\x81";  // U+2581
    std::string text;
    text.reserve(joined.size());
    for (size_t at = 0; at < joined.size();) {
        if (joined.compare(at, word_start.size(), word_start) == 0) {
            text += ' ';
            at += word_start.size();
        } else {
            text += joined[at++];
        }
    }
    return lstrip ? strip_whitespace(text, true, false) : text;
}

std::string strip_whitespace(const std::string& text, bool left, bool right) {
    // Only the stripped ends are decoded: a streaming transcript is stripped
    // after every chunk, and decoding all of it made each chunk of an
    // hour-long stream slower than the one before.
    size_t start = 0, end = text.size();
    while (left && start < end) {
        const auto [code_point, length] = code_point_at(text, start);
        if (!python_isspace(code_point)) break;
        start += length;
    }
    while (right && end > start) {
        size_t at = end - 1;
        while (at > start && (static_cast<uint8_t>(text[at]) & 0xc0) == 0x80) --at;  // back to a lead byte
        const auto [code_point, length] = code_point_at(text, at);
        // A sequence that does not end at `end` leaves stray bytes there, never whitespace.
        if (at + length != end || !python_isspace(code_point)) break;
        end = at;
    }
    return text.substr(start, end - start);
}

}  // namespace ember
