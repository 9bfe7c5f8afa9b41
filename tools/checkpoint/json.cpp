#include "tools/checkpoint/json.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <utility>

#include "engine/error.h"

namespace ember {
namespace {

constexpr int kMaxDepth = 64;

// Recursive descent over the text; recursion is bounded by kMaxDepth.
class Parser {
public:
    Parser(const std::string& text, const std::string& origin) : text_(text), origin_(origin) {}

    JsonValue parse_document() {
        skip_space();
        JsonValue value = parse_value(0);
        skip_space();
        if (pos_ != text_.size()) error("unexpected text after the JSON value");
        return value;
    }

private:
    // Line and column (1-based, in bytes) of the current position.
    template <class... Parts>
    [[noreturn]] void error(Parts&&... parts) const {
        size_t line = 1, column = 1;
        for (size_t i = 0; i < pos_ && i < text_.size(); ++i) {
            if (text_[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        fail(origin_, ":", line, ":", column, ": ", std::forward<Parts>(parts)...);
    }

    bool at_end() const { return pos_ >= text_.size(); }
    char peek() const { return at_end() ? '\0' : text_[pos_]; }

    void skip_space() {
        while (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r') ++pos_;
    }

    void expect(char c) {
        if (peek() != c) error("expected '", c, "'");
        ++pos_;
    }

    void expect_word(const std::string& word) {
        if (text_.compare(pos_, word.size(), word) != 0) error("invalid literal (expected ", word, ")");
        pos_ += word.size();
    }

    JsonValue parse_value(int depth) {
        JsonValue value;
        if (at_end()) error("unexpected end of input");
        switch (peek()) {
        case '{': return parse_object(depth + 1);
        case '[': return parse_array(depth + 1);
        case '"':
            value.kind = JsonValue::Kind::string;
            value.string = parse_string();
            return value;
        case 't':
            expect_word("true");
            value.kind = JsonValue::Kind::boolean;
            value.boolean = true;
            return value;
        case 'f':
            expect_word("false");
            value.kind = JsonValue::Kind::boolean;
            return value;
        case 'n': expect_word("null"); return value;
        default:
            if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return parse_number();
            error("unexpected character '", peek(), "'");
        }
    }

    void check_depth(int depth) const {
        if (depth > kMaxDepth) error("nesting deeper than ", kMaxDepth, " levels");
    }

    JsonValue parse_object(int depth) {
        check_depth(depth);
        JsonValue value;
        value.kind = JsonValue::Kind::object;
        expect('{');
        skip_space();
        if (peek() == '}') {
            ++pos_;
            return value;
        }
        while (true) {
            skip_space();
            if (peek() != '"') error("expected a string key");
            const size_t key_pos = pos_;
            std::string key = parse_string();
            skip_space();
            expect(':');
            skip_space();
            JsonValue member = parse_value(depth);
            if (!value.object.emplace(std::move(key), std::move(member)).second) {
                pos_ = key_pos;
                error("duplicate key");
            }
            skip_space();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            expect('}');
            return value;
        }
    }

    JsonValue parse_array(int depth) {
        check_depth(depth);
        JsonValue value;
        value.kind = JsonValue::Kind::array;
        expect('[');
        skip_space();
        if (peek() == ']') {
            ++pos_;
            return value;
        }
        while (true) {
            skip_space();
            value.array.push_back(parse_value(depth));
            skip_space();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            expect(']');
            return value;
        }
    }

    // RFC 8259 grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, then
    // std::from_chars for the correctly rounded, locale-independent value.
    JsonValue parse_number() {
        const size_t start = pos_;
        auto digits = [&] {
            const size_t first = pos_;
            while (peek() >= '0' && peek() <= '9') ++pos_;
            if (pos_ == first) error("invalid number (expected a digit)");
        };
        if (peek() == '-') ++pos_;
        if (peek() == '0') {
            ++pos_;
            if (peek() >= '0' && peek() <= '9') error("invalid number (leading zero)");
        } else {
            digits();
        }
        if (peek() == '.') {
            ++pos_;
            digits();
        }
        if ((peek() == 'e' || peek() == 'E')) {
            ++pos_;
            if (peek() == '+' || peek() == '-') ++pos_;
            digits();
        }
        JsonValue value;
        value.kind = JsonValue::Kind::number;
        const char* first = text_.data() + start;
        const char* last = text_.data() + pos_;
        const auto [end, status] = std::from_chars(first, last, value.number);
        if (status == std::errc::result_out_of_range) {
            pos_ = start;
            error("number out of range");
        }
        if (status != std::errc() || end != last) {
            pos_ = start;
            error("invalid number");
        }
        return value;
    }

    unsigned hex4() {
        unsigned code = 0;
        for (int i = 0; i < 4; ++i, ++pos_) {
            const char c = peek();
            code <<= 4;
            if (at_end()) error("truncated \\u escape");
            if (c >= '0' && c <= '9')
                code |= c - '0';
            else if (c >= 'a' && c <= 'f')
                code |= c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                code |= c - 'A' + 10;
            else
                error("invalid hex digit in \\u escape");
        }
        return code;
    }

    static void append_utf8(std::string& out, unsigned code) {
        if (code < 0x80) {
            out += static_cast<char>(code);
        } else if (code < 0x800) {
            out += static_cast<char>(0xC0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
            out += static_cast<char>(0xE0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (code >> 18));
            out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
        }
    }

    // \uXXXX, combining a UTF-16 surrogate pair into one code point.
    unsigned parse_unicode_escape() {
        const size_t start = pos_ - 2;
        const unsigned high = hex4();
        if (high >= 0xDC00 && high <= 0xDFFF) {
            pos_ = start;
            error("unpaired low surrogate in \\u escape");
        }
        if (high < 0xD800 || high > 0xDBFF) return high;
        if (text_.compare(pos_, 2, "\\u") != 0) {
            pos_ = start;
            error("unpaired high surrogate in \\u escape");
        }
        pos_ += 2;
        const unsigned low = hex4();
        if (low < 0xDC00 || low > 0xDFFF) {
            pos_ = start;
            error("high surrogate not followed by a low surrogate");
        }
        return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
    }

    // Copies one UTF-8 encoded character, rejecting malformed, overlong and
    // surrogate encodings (RFC 8259 text is UTF-8).
    void copy_utf8(std::string& out) {
        const auto lead = static_cast<unsigned char>(text_[pos_]);
        int length = 0;
        unsigned code = 0, minimum = 0;
        if (lead >= 0xC2 && lead <= 0xDF)
            length = 2, code = lead & 0x1F, minimum = 0x80;
        else if (lead >= 0xE0 && lead <= 0xEF)
            length = 3, code = lead & 0x0F, minimum = 0x800;
        else if (lead >= 0xF0 && lead <= 0xF4)
            length = 4, code = lead & 0x07, minimum = 0x10000;
        else
            error("invalid UTF-8");
        if (text_.size() - pos_ < static_cast<size_t>(length)) error("invalid UTF-8");
        for (int i = 1; i < length; ++i) {
            const auto next = static_cast<unsigned char>(text_[pos_ + i]);
            if ((next & 0xC0) != 0x80) error("invalid UTF-8");
            code = code << 6 | (next & 0x3F);
        }
        if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) error("invalid UTF-8");
        out.append(text_, pos_, length);
        pos_ += length;
    }

    std::string parse_string() {
        expect('"');
        std::string out;
        while (true) {
            if (at_end()) error("unterminated string");
            const char c = text_[pos_];
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (static_cast<unsigned char>(c) < 0x20) error("unescaped control character in string");
            if (static_cast<unsigned char>(c) >= 0x80) {
                copy_utf8(out);
                continue;
            }
            ++pos_;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (at_end()) error("unterminated string");
            const char escape = text_[pos_++];
            switch (escape) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': append_utf8(out, parse_unicode_escape()); break;
            default: pos_ -= 2; error("invalid escape '\\", escape, "'");
            }
        }
    }

    const std::string& text_;
    const std::string& origin_;
    size_t pos_ = 0;
};

}  // namespace

JsonValue parse_json(const std::string& text, const std::string& origin) {
    return Parser(text, origin).parse_document();
}

JsonValue read_json_file(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) fail(path, ": cannot open");
    std::ostringstream contents;
    contents << file.rdbuf();
    if (file.bad()) fail(path, ": read error");
    return parse_json(contents.str(), path);
}

}  // namespace ember
