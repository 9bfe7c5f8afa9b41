#include "engine/ember_file_rules.h"

#include <cstdio>

namespace ember::ember_format {

bool is_valid_utf8(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        const auto byte = static_cast<unsigned char>(text[i]);
        size_t extra = 0;
        uint32_t code = 0;
        if (byte < 0x80) {
            ++i;
            continue;
        } else if ((byte & 0xE0) == 0xC0) {
            extra = 1, code = byte & 0x1F;
        } else if ((byte & 0xF0) == 0xE0) {
            extra = 2, code = byte & 0x0F;
        } else if ((byte & 0xF8) == 0xF0) {
            extra = 3, code = byte & 0x07;
        } else {
            return false;
        }
        if (text.size() - i <= extra) return false;
        for (size_t k = 1; k <= extra; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0) != 0x80) return false;
            code = (code << 6) | (next & 0x3F);
        }
        const uint32_t smallest[] = {0, 0x80, 0x800, 0x10000};
        if (code < smallest[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
        i += extra + 1;
    }
    return true;
}

const char* name_problem(std::string_view name) {
    if (name.empty() || name.size() > ember_max_name_length) return "must be 1 to 256 bytes long";
    if (!is_valid_utf8(name)) return "is not valid UTF-8";
    for (char c : name)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return "contains a control character";
    return nullptr;
}

const char* key_problem(std::string_view key) {
    if (const char* problem = name_problem(key)) return problem;
    bool part_empty = true;
    for (char c : key) {
        if (c == '.') {
            if (part_empty) break;
            part_empty = true;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
            part_empty = false;
        } else {
            part_empty = true;
            break;
        }
    }
    if (part_empty) return "is not dotted snake_case (parts of [a-z0-9_] joined by '.')";
    return nullptr;
}

std::string quoted(std::string_view text) {
    const bool utf8 = is_valid_utf8(text);
    std::string out = "'";
    for (char c : text.substr(0, ember_max_name_length)) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7F || c == '\\' || (byte >= 0x80 && !utf8)) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
            out += escaped;
        } else {
            out += c;
        }
    }
    if (text.size() > ember_max_name_length) out += "...";
    return out + "'";
}

}  // namespace ember::ember_format
