#include "tools/eval/word_error_rate.h"

namespace ember::eval {

namespace {

bool kept(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'' || c >= 0x80;
}

}  // namespace

std::string normalize_transcript(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    bool space_pending = false;
    for (unsigned char c : text) {
        if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
        if (!kept(c)) {
            space_pending = !out.empty();
            continue;
        }
        if (space_pending) out += ' ';
        space_pending = false;
        out += static_cast<char>(c);
    }
    return out;
}

std::vector<std::string> split_words(const std::string& normalized) {
    std::vector<std::string> words;
    size_t start = 0;
    while (start < normalized.size()) {
        size_t end = normalized.find(' ', start);
        if (end == std::string::npos) end = normalized.size();
        if (end > start) words.push_back(normalized.substr(start, end - start));
        start = end + 1;
    }
    return words;
}

std::vector<uint32_t> code_points(const std::string& normalized) {
    // Continuation bytes (10xxxxxx) fold into the number their lead byte began:
    // one number per character, equal exactly when the characters are.
    std::vector<uint32_t> points;
    for (unsigned char c : normalized) {
        if ((c & 0xC0) == 0x80 && !points.empty())
            points.back() = (points.back() << 6) | (c & 0x3F);
        else
            points.push_back(c);
    }
    return points;
}

ErrorCounts count_errors(const std::string& reference, const std::string& hypothesis) {
    const std::string ref = normalize_transcript(reference), hyp = normalize_transcript(hypothesis);
    const std::vector<std::string> ref_words = split_words(ref);
    const std::vector<uint32_t> ref_chars = code_points(ref);
    ErrorCounts counts;
    counts.word_errors = edit_distance(ref_words, split_words(hyp));
    counts.words = static_cast<int64_t>(ref_words.size());
    counts.char_errors = edit_distance(ref_chars, code_points(hyp));
    counts.chars = static_cast<int64_t>(ref_chars.size());
    return counts;
}

void add_counts(ErrorCounts& total, const ErrorCounts& utterance) {
    total.word_errors += utterance.word_errors;
    total.words += utterance.words;
    total.char_errors += utterance.char_errors;
    total.chars += utterance.chars;
}

double word_error_rate(const ErrorCounts& counts) {
    return counts.words ? 100.0 * static_cast<double>(counts.word_errors) / static_cast<double>(counts.words) : 0.0;
}

double char_error_rate(const ErrorCounts& counts) {
    return counts.chars ? 100.0 * static_cast<double>(counts.char_errors) / static_cast<double>(counts.chars) : 0.0;
}

}  // namespace ember::eval
