// Command-line plumbing shared by the verbs of `ember`: option parsing, usage
// errors and the exit-code convention (0 ok, 1 runtime error, 2 usage error).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ember::cli {

// A mistake in how the command was called: printed with a pointer to --help, exit 2.
struct UsageError : std::runtime_error {
    explicit UsageError(const std::string& message) : std::runtime_error(message) {}
};

struct OptionSpec {
    OptionSpec(std::string name_, bool takes_value_ = true, std::string alias_ = "")
        : name(std::move(name_)), takes_value(takes_value_), alias(std::move(alias_)) {}
    std::string name;   // "--features"
    bool takes_value;   // false for switches like --json
    std::string alias;  // "-o", optional
};

// Parsed command line of one verb: options by their long name, and positionals.
struct ParsedArgs {
    std::map<std::string, std::string> values;
    std::set<std::string> switches;
    std::vector<std::string> positionals;
    bool help = false;

    bool has(const std::string& name) const;
    std::string required(const std::string& name) const;  // throws UsageError when absent
    std::optional<std::string> optional(const std::string& name) const;
    // Parses a value as an integer in [min, max]; throws UsageError naming the flag otherwise.
    long long integer(const std::string& name, long long fallback, long long min, long long max) const;
    double number(const std::string& name, double fallback, double min, double max) const;
};

// The streaming search flags of transcribe, eval, decode and bench:
// --carry-predictor and --carry-beam (not both; and, where the verb streams
// only with --streaming, each with --streaming only; UsageError otherwise).
// A macro so that each verb's usage literal can include it.
#define EMBER_CARRY_PREDICTOR_HELP                                                                    \
    "  --carry-predictor    with --streaming: start each chunk's search from the best hypothesis's\n" \
    "                       own predictor state; torchaudio feeds its last token again, which\n"      \
    "                       costs accuracy (transcripts then differ from torchaudio's)\n"            \
    "  --carry-beam         with --streaming: carry the whole beam from chunk to chunk, each\n"      \
    "                       hypothesis with its own predictor state: the final text is the\n"        \
    "                       non-streaming search's over the streaming encoder's frames; partial\n"   \
    "                       texts may be revised by later chunks (not torchaudio's streaming search)\n"
bool carry_predictor(const ParsedArgs& parsed, bool needs_streaming = true);
bool carry_beam(const ParsedArgs& parsed, bool needs_streaming = true);

// Unknown options, a missing value or a repeated option throw UsageError.
// "--help" / "-h" anywhere sets `help`.
ParsedArgs parse_args(const std::vector<std::string>& args, const std::vector<OptionSpec>& options);

// Throws ember::Error unless `path` names a readable regular file:
// "PATH: no such file", "PATH: is a directory, expected a file".
void check_input_file(const std::string& path);
// Throws ember::Error unless a file can be created at `path` (its directory
// exists and is writable, and it is not a directory itself).
void check_output_file(const std::string& path);

// `text` as a JSON string literal, quotes included (UTF-8 passed through).
std::string json_quote(const std::string& text);

// Progress on standard error, only when it is a terminal: "label  37%".
// Safe to update from one thread while others call warn().
struct Progress {
    explicit Progress(std::string label);
    void update(double fraction);
    void finish();
    std::string label;
    bool enabled;
    int last_percent = -1;
};

// "ember: warning: MESSAGE" on standard error, on a line of its own: a
// progress line being shown is ended first (and redrawn below on its next
// update) instead of having the warning run on from it.
void warn(const std::string& message);

}  // namespace ember::cli
