// Word and character error rates as `ember eval` reports them: Levenshtein
// distances between normalised reference and hypothesis texts.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace ember::eval {

// Lower-case (ASCII letters), every character other than a letter, a digit or
// an apostrophe turned into a space, runs of spaces collapsed, ends trimmed.
// Bytes of multi-byte UTF-8 characters are kept as they are.
std::string normalize_transcript(const std::string& text);

// The words of a normalised text, and its characters (UTF-8 code points,
// spaces included).
std::vector<std::string> split_words(const std::string& normalized);
std::vector<uint32_t> code_points(const std::string& normalized);

// Edits (substitutions, insertions, deletions) turning `reference` into `hypothesis`.
template <class T>
int64_t edit_distance(const std::vector<T>& reference, const std::vector<T>& hypothesis) {
    std::vector<int64_t> row(hypothesis.size() + 1);
    for (size_t j = 0; j < row.size(); ++j) row[j] = static_cast<int64_t>(j);
    for (size_t i = 1; i <= reference.size(); ++i) {
        int64_t diagonal = row[0];
        row[0] = static_cast<int64_t>(i);
        for (size_t j = 1; j <= hypothesis.size(); ++j) {
            const int64_t substitute = diagonal + (reference[i - 1] == hypothesis[j - 1] ? 0 : 1);
            diagonal = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
        }
    }
    return row.back();
}

struct ErrorCounts {
    int64_t word_errors = 0;
    int64_t words = 0;  // in the reference
    int64_t char_errors = 0;
    int64_t chars = 0;  // in the reference
};

// Errors of one utterance; both texts are normalised first.
ErrorCounts count_errors(const std::string& reference, const std::string& hypothesis);

void add_counts(ErrorCounts& total, const ErrorCounts& utterance);

// Percentages of the reference length (0 when the reference is empty).
double word_error_rate(const ErrorCounts& counts);
double char_error_rate(const ErrorCounts& counts);

}  // namespace ember::eval
