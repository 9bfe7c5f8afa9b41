#include "tools/cli.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "engine/error.h"

namespace ember::cli {

bool ParsedArgs::has(const std::string& name) const {
    return values.count(name) != 0 || switches.count(name) != 0;
}

std::string ParsedArgs::required(const std::string& name) const {
    auto it = values.find(name);
    if (it == values.end()) throw UsageError("missing required option " + name);
    return it->second;
}

std::optional<std::string> ParsedArgs::optional(const std::string& name) const {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
}

long long ParsedArgs::integer(const std::string& name, long long fallback, long long min,
                              long long max) const {
    auto text = optional(name);
    if (!text) return fallback;
    errno = 0;
    char* end = nullptr;
    long long value = std::strtoll(text->c_str(), &end, 10);
    if (text->empty() || *end != '\0' || errno != 0 || value < min || value > max)
        throw UsageError(name + " expects an integer from " + std::to_string(min) + " to " +
                         std::to_string(max) + ", got '" + *text + "'");
    return value;
}

double ParsedArgs::number(const std::string& name, double fallback, double min, double max) const {
    auto text = optional(name);
    if (!text) return fallback;
    errno = 0;
    char* end = nullptr;
    double value = std::strtod(text->c_str(), &end);
    if (text->empty() || *end != '\0' || errno != 0 || !(value >= min && value <= max))
        throw UsageError(name + " expects a number from " + std::to_string(min) + " to " +
                         std::to_string(max) + ", got '" + *text + "'");
    return value;
}

ParsedArgs parse_args(const std::vector<std::string>& args, const std::vector<OptionSpec>& options) {
    ParsedArgs parsed;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--help" || arg == "-h") {
            parsed.help = true;
            continue;
        }
        if (arg.size() < 2 || arg[0] != '-') {
            parsed.positionals.push_back(arg);
            continue;
        }
        std::string name = arg, inline_value;
        bool has_inline_value = false;
        if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            name = arg.substr(0, eq);
            inline_value = arg.substr(eq + 1);
            has_inline_value = true;
        }
        const OptionSpec* spec = nullptr;
        for (const auto& option : options)
            if (option.name == name || (!option.alias.empty() && option.alias == name)) spec = &option;
        if (!spec) throw UsageError("unknown option " + name);
        if (parsed.has(spec->name)) throw UsageError("option " + spec->name + " given twice");
        if (!spec->takes_value) {
            if (has_inline_value) throw UsageError("option " + spec->name + " takes no value");
            parsed.switches.insert(spec->name);
            continue;
        }
        if (has_inline_value) {
            parsed.values[spec->name] = inline_value;
        } else {
            if (i + 1 >= args.size()) throw UsageError("option " + spec->name + " needs a value");
            parsed.values[spec->name] = args[++i];
        }
    }
    return parsed;
}

namespace {

// A flag that only streaming gives meaning to: with --streaming, where the verb needs it.
bool streaming_flag(const ParsedArgs& parsed, const std::string& flag, bool needs_streaming) {
    if (!parsed.has(flag)) return false;
    if (needs_streaming && !parsed.has("--streaming")) throw UsageError(flag + " applies to --streaming only");
    return true;
}

}  // namespace

bool carry_predictor(const ParsedArgs& parsed, bool needs_streaming) {
    return streaming_flag(parsed, "--carry-predictor", needs_streaming);
}

bool carry_beam(const ParsedArgs& parsed, bool needs_streaming) {
    if (!streaming_flag(parsed, "--carry-beam", needs_streaming)) return false;
    if (parsed.has("--carry-predictor"))
        throw UsageError("--carry-beam and --carry-predictor: give one (--carry-beam carries every hypothesis's "
                         "predictor state)");
    return true;
}

void check_input_file(const std::string& path) {
    struct stat info;
    if (stat(path.c_str(), &info) != 0) fail(path, ": ", std::strerror(errno));
    if (S_ISDIR(info.st_mode)) fail(path, ": is a directory, expected a file");
    if (access(path.c_str(), R_OK) != 0) fail(path, ": ", std::strerror(errno));
}

void check_output_file(const std::string& path) {
    struct stat info;
    if (stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) fail(path, ": is a directory, expected a file name");
    const size_t slash = path.find_last_of('/');
    const std::string directory = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    if (stat(directory.c_str(), &info) != 0) fail(path, ": directory ", directory, ": ", std::strerror(errno));
    if (!S_ISDIR(info.st_mode)) fail(path, ": ", directory, " is not a directory");
    if (access(directory.c_str(), W_OK) != 0) fail(path, ": directory ", directory, " is not writable");
}

std::string json_quote(const std::string& text) {
    std::string out = "\"";
    for (unsigned char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    char escaped[8];
                    std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
                    out += escaped;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

namespace {
// Progress lines and warnings share standard error: one lock orders them, and
// whether a progress line is open (no newline after it yet) is known to both.
std::mutex stderr_lock;
bool progress_line_open = false;
}  // namespace

Progress::Progress(std::string label_) : label(std::move(label_)), enabled(isatty(STDERR_FILENO)) {}

void Progress::update(double fraction) {
    if (!enabled) return;
    int percent = static_cast<int>(fraction * 100.0);
    std::lock_guard<std::mutex> hold(stderr_lock);
    if (percent == last_percent && progress_line_open) return;
    last_percent = percent;
    std::fprintf(stderr, "\r%s %3d%%", label.c_str(), percent);
    std::fflush(stderr);
    progress_line_open = true;
}

void Progress::finish() {
    if (!enabled) return;
    update(1.0);
    std::lock_guard<std::mutex> hold(stderr_lock);
    std::fprintf(stderr, "\n");
    progress_line_open = false;
}

void warn(const std::string& message) {
    std::lock_guard<std::mutex> hold(stderr_lock);
    std::fprintf(stderr, "%sember: warning: %s\n", progress_line_open ? "\n" : "", message.c_str());
    std::fflush(stderr);
    progress_line_open = false;
}

}  // namespace ember::cli
