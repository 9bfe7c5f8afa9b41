#include <catch2/catch.hpp>

#include <string>

#include "engine/error.h"
#include "tests/test_support.h"
#include "tools/checkpoint/json.h"

using ember::JsonValue;
using Kind = ember::JsonValue::Kind;

namespace {

JsonValue parse(const std::string& text) { return ember::parse_json(text, "t.json"); }

// The message parse_json throws for `text` (empty when it parses).
std::string error_of(const std::string& text) {
    try {
        parse(text);
    } catch (const ember::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("json: scalars", "[json]") {
    CHECK(parse("null").kind == Kind::null);
    CHECK(parse("true").boolean);
    CHECK(parse(" false ").kind == Kind::boolean);
    CHECK_FALSE(parse("false").boolean);
    CHECK(parse("\"hi\"").string == "hi");
    CHECK(parse("\t\r\n 42 \n").number == 42.0);
}

TEST_CASE("json: objects and arrays", "[json]") {
    const JsonValue v = parse(R"({"a": [1, 2.5, {"b": null}], "c": {}, "d": []})");
    REQUIRE(v.kind == Kind::object);
    REQUIRE(v.object.size() == 3);
    const JsonValue& a = v.object.at("a");
    REQUIRE(a.kind == Kind::array);
    REQUIRE(a.array.size() == 3);
    CHECK(a.array[1].number == 2.5);
    CHECK(a.array[2].object.at("b").kind == Kind::null);
    CHECK(v.object.at("c").kind == Kind::object);
    CHECK(v.object.at("c").object.empty());
    CHECK(v.object.at("d").array.empty());
}

TEST_CASE("json: numbers are read exactly as strtod would", "[json]") {
    CHECK(parse("0").number == 0.0);
    CHECK(parse("-0").number == 0.0);
    CHECK(parse("0.1").number == 0.1);
    CHECK(parse("-12.5e-3").number == -12.5e-3);
    CHECK(parse("1E+2").number == 100.0);
    CHECK(parse("1e2").number == 100.0);
    CHECK(parse("2.2250738585072011e-308").number == 2.2250738585072011e-308);
    CHECK(parse("0.30000000000000004").number == 0.30000000000000004);
    CHECK(parse("9007199254740993").number == 9007199254740992.0);  // rounds to even
    CHECK(parse("1.7976931348623157e308").number == 1.7976931348623157e308);
    CHECK(parse("4.9e-324").number == 4.9e-324);
    for (const char* bad :
         {"01", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "--1", "1.e5", "NaN", "Infinity"})
        CHECK_THAT(error_of(bad), Catch::Contains("number") || Catch::Contains("unexpected"));
    CHECK_THAT(error_of("1e400"), Catch::Contains("out of range"));
}

TEST_CASE("json: string escapes become UTF-8", "[json]") {
    CHECK(parse(R"("a\"b\\c\/d\b\f\n\r\t")").string == "a\"b\\c/d\b\f\n\r\t");
    CHECK(parse(R"("\u0041\u00e9\u20AC")").string == "A\xC3\xA9\xE2\x82\xAC");
    CHECK(parse(R"("\ud83d\ude00")").string == "\xF0\x9F\x98\x80");  // U+1F600 from a surrogate pair
    CHECK(parse(R"("\u0000")").string == std::string(1, '\0'));
    CHECK(parse("\"\xC3\xA9\xF0\x9F\x98\x80\"").string == "\xC3\xA9\xF0\x9F\x98\x80");  // raw UTF-8 passes
    CHECK_THAT(error_of(R"("\ud83d")"), Catch::Contains("surrogate"));
    CHECK_THAT(error_of(R"("\ude00")"), Catch::Contains("surrogate"));
    CHECK_THAT(error_of(R"("\ud83d\u0041")"), Catch::Contains("surrogate"));
    CHECK_THAT(error_of(R"("\u12G4")"), Catch::Contains("hex"));
    CHECK_THAT(error_of(R"("\u12)"), Catch::Contains("\\u"));
    CHECK_THAT(error_of(R"("\x")"), Catch::Contains("invalid escape"));
    CHECK_THAT(error_of("\"a\nb\""), Catch::Contains("control character"));
    CHECK_THAT(error_of("\"abc"), Catch::Contains("unterminated"));
    CHECK_THAT(error_of("\"\xC0\xAF\""), Catch::Contains("UTF-8"));      // overlong '/'
    CHECK_THAT(error_of("\"\xED\xA0\x80\""), Catch::Contains("UTF-8"));  // encoded surrogate
    CHECK_THAT(error_of("\"\xE2\x82\""), Catch::Contains("UTF-8"));      // cut short
}

TEST_CASE("json: errors carry line and column", "[json]") {
    CHECK_THAT(error_of("{\n  \"a\": tru\n}"), Catch::StartsWith("t.json:2:8: "));
    CHECK_THAT(error_of("[1,\n2,\n  x]"), Catch::StartsWith("t.json:3:3: "));
    CHECK_THAT(error_of(R"({"k": 1, "k": 2})"),
               Catch::StartsWith("t.json:1:10: ") && Catch::Contains("duplicate key"));
}

TEST_CASE("json: malformed documents", "[json]") {
    for (const char* bad : {"", " ", "{", "[", "[1,]", "[1 2]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}",
                            "{'a':1}", "[1]]", "nul", "truex", "{} {}", "1 2", "\"a\" x", "[1] //"})
        CHECK_FALSE(error_of(bad).empty());
    CHECK_THAT(error_of("[1] x"), Catch::Contains("after the JSON value"));
}

TEST_CASE("json: nesting is limited to 64 levels", "[json]") {
    const auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
    CHECK(parse(nested(64)).kind == Kind::array);
    CHECK_THAT(error_of(nested(65)), Catch::Contains("nesting deeper than 64"));
    CHECK_THAT(error_of(std::string(100000, '[')), Catch::Contains("nesting"));
    CHECK_THAT(error_of(std::string(100000, '{')), Catch::Contains("key"));
}

TEST_CASE("json: files", "[json]") {
    const JsonValue expected = ember::read_json_file(ember::test::fixture("checkpoint/expected.json"));
    CHECK(expected.object.count("linear_layernorm.pt") == 1);
    CHECK_THROWS_WITH(ember::read_json_file(ember::test::fixture("checkpoint/missing.json")),
                      Catch::Contains("missing.json") && Catch::Contains("cannot open"));
}
