#include "util/json_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace skiff {

TEST(JsonText, FindsTheFirstInvalidUtf8Byte) {
  EXPECT_EQ(invalid_utf8_at("plain ascii"), std::string_view::npos);
  EXPECT_EQ(invalid_utf8_at("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), std::string_view::npos);  // é € 😀
  EXPECT_EQ(invalid_utf8_at("a\xFF"), 1u);
  EXPECT_EQ(invalid_utf8_at("ab\xC3"), 2u);                  // cut short
  EXPECT_EQ(invalid_utf8_at("\xC0\xAF"), 0u);                // overlong '/'
  EXPECT_EQ(invalid_utf8_at("\xE0\x80\xAF"), 0u);            // overlong, three bytes
  EXPECT_EQ(invalid_utf8_at("x\xED\xA0\x80"), 1u);           // a surrogate
  EXPECT_EQ(invalid_utf8_at("\xF4\x90\x80\x80"), 0u);        // past U+10FFFF
  EXPECT_EQ(invalid_utf8_at("\xE2\x82" "a"), 0u);            // a continuation missing
}

TEST(JsonText, FindsNestingPastTheLimitOutsideStrings) {
  EXPECT_EQ(json_too_deep_at("[[[]]]", 3), std::string_view::npos);
  EXPECT_EQ(json_too_deep_at("[[[[]]]]", 3), 3u);
  EXPECT_EQ(json_too_deep_at(R"({"a": {"b": [1]}})", 2), 12u);
  EXPECT_EQ(json_too_deep_at(R"(["[[[[", "\"[[[["])", 1), std::string_view::npos);
  EXPECT_EQ(json_too_deep_at("[][][][]", 1), std::string_view::npos);
}

TEST(JsonText, ParseSaysWhatIsWrongAndWhere) {
  using Json = nlohmann::ordered_json;
  auto ok = parse_json<Json>(R"({"a": [1, 2]})", "the body");
  ASSERT_TRUE(ok) << ok.status().message();
  EXPECT_EQ((*ok)["a"][1], 2);

  auto utf8 = parse_json<Json>("{\"a\":\n \"\xFF\"}", "the body");
  EXPECT_EQ(utf8.status().message(), "the body has invalid UTF-8 at byte 9 (line 2, column 3): JSON text must be UTF-8");

  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto too_deep = parse_json<Json>(deep, "the body");
  EXPECT_EQ(too_deep.status().message(), "the body is nested deeper than 512 levels at byte 513 (line 1, column 513); flatten it");
  EXPECT_TRUE(parse_json_or_discarded<Json>(deep).is_discarded());
  EXPECT_EQ(parse_json_or_discarded<Json>("[[1]]"), Json::parse("[[1]]"));

  auto syntax = parse_json<Json>(R"({"a": nope})", "the body");
  EXPECT_EQ(syntax.status().code(), Code::kInvalid);
  EXPECT_NE(syntax.status().message().find("the body is not valid JSON at byte 8 (line 1, column 8): syntax error"),
            std::string::npos)
      << syntax.status().message();
  auto huge = parse_json<Json>(R"({"a": 1e999})", "the body");
  EXPECT_EQ(huge.status().message(), "the body is not valid JSON: number overflow parsing '1e999'");
  EXPECT_TRUE(parse_json_or_discarded<Json>(R"({"a": 1e999})").is_discarded());
  auto cut = parse_json<Json>(R"({"a": [1)", "the body");
  EXPECT_NE(cut.status().message().find("unexpected end of input"), std::string::npos) << cut.status().message();
}

}  // namespace skiff
