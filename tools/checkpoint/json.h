// A small JSON reader for config and global-stats files (RFC 8259).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ember {

struct JsonValue {
    enum class Kind { null, boolean, number, string, array, object };
    Kind kind = Kind::null;
    bool boolean = false;
    double number = 0.0;
    std::string string;
    std::vector<JsonValue> array;
    std::map<std::string, JsonValue> object;  // duplicate keys are an error
};

// Throws ember::Error with line and column on malformed input, on nesting
// deeper than 64 levels and on trailing garbage. `origin` names the source.
JsonValue parse_json(const std::string& text, const std::string& origin);
JsonValue read_json_file(const std::string& path);

}  // namespace ember
