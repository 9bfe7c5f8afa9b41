// ember eval's scoring: normalisation, edit distances, the manifest reader.
#include <catch2/catch.hpp>

#include <fstream>

#include "engine/error.h"
#include "tests/test_support.h"
#include "tools/eval/manifest.h"
#include "tools/eval/word_error_rate.h"

using namespace ember;

TEST_CASE("eval: transcripts are normalised to lower-case words without punctuation") {
    CHECK(eval::normalize_transcript("  Hello, World!  It's--fine. ") == "hello world it's fine");
    CHECK(eval::normalize_transcript("...") == "");
    CHECK(eval::normalize_transcript("Café 42") == "café 42");
}

TEST_CASE("eval: edit distances count substitutions, insertions and deletions") {
    using Words = std::vector<std::string>;
    CHECK(eval::edit_distance(Words{}, Words{}) == 0);
    CHECK(eval::edit_distance(Words{"a", "b"}, Words{}) == 2);
    CHECK(eval::edit_distance(Words{}, Words{"a"}) == 1);
    CHECK(eval::edit_distance(Words{"the", "cat", "sat"}, Words{"the", "bat", "sat", "down"}) == 2);
    CHECK(eval::edit_distance(Words{"kitten"}, Words{"kitten"}) == 0);
    const std::vector<uint32_t> kitten = eval::code_points("kitten"), sitting = eval::code_points("sitting");
    CHECK(eval::edit_distance(kitten, sitting) == 3);
}

TEST_CASE("eval: one accented character is one character") {
    CHECK(eval::code_points("café").size() == 4);
    const eval::ErrorCounts counts = eval::count_errors("café", "cafe");
    CHECK(counts.char_errors == 1);
    CHECK(counts.chars == 4);
}

TEST_CASE("eval: error counts and rates over a set") {
    eval::ErrorCounts total;
    eval::add_counts(total, eval::count_errors("The cat sat.", "the cat sat"));
    eval::add_counts(total, eval::count_errors("on the mat", "on a mat"));
    CHECK(total.words == 6);
    CHECK(total.word_errors == 1);
    CHECK(eval::word_error_rate(total) == Approx(100.0 / 6));
    CHECK(total.chars == 11 + 10);
    CHECK(total.char_errors == 3);  // "the" -> "a": one substitution, two deletions
    CHECK(eval::word_error_rate(eval::ErrorCounts{}) == 0.0);
}

namespace {

std::string write_list(const std::string& name, const std::string& text) {
    const std::string path = test::scratch(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

}  // namespace

TEST_CASE("eval: the manifest resolves relative paths against its directory") {
    const std::string path = write_list("list.tsv", "a.wav\tHello there\r\n\n/abs/b.wav\tsecond one\n");
    const std::vector<eval::ManifestEntry> entries = eval::read_manifest(path);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].path == test::scratch("a.wav"));
    CHECK(entries[0].reference == "Hello there");
    CHECK(entries[0].line == 1);
    CHECK(entries[1].path == "/abs/b.wav");
    CHECK(entries[1].line == 3);
}

TEST_CASE("eval: malformed manifests are refused naming the line") {
    CHECK_THROWS_WITH(eval::read_manifest(write_list("notab.tsv", "a.wav\tok\nb.wav only\n")),
                      Catch::Contains("notab.tsv:2: expected 'path<TAB>reference text'"));
    CHECK_THROWS_WITH(eval::read_manifest(write_list("nopath.tsv", "\treference\n")),
                      Catch::Contains("nopath.tsv:1: empty audio path"));
    CHECK_THROWS_WITH(eval::read_manifest(write_list("empty.tsv", "\n\n")), Catch::Contains("no utterances"));
    CHECK_THROWS_WITH(eval::read_manifest(test::scratch("missing.tsv")), Catch::Contains("cannot open"));
}
