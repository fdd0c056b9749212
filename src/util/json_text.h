// Checks on text before a JSON parser sees it, for text from clients, steps and the store.
//
// nlohmann's parser is iterative, but copying, comparing, dumping and decoding a parsed
// value recurse once per level: a value nested 100,000 levels deep exhausts a thread's
// stack. Text from clients and steps, and JSON read back from the store, is parsed with
// parse_json (for messages) or parse_json_or_discarded (for a quiet "not JSON"), which
// refuse nesting deeper than kMaxJsonDepth first. Stateless; any thread. The templates
// take nlohmann's json or ordered_json, so this header needs no JSON include.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "util/status.h"

namespace skiff {

constexpr int kMaxJsonDepth = 512;

// The offset of the first byte that does not belong to a well-formed UTF-8 sequence (RFC
// 3629: no overlong forms, surrogates or code points past U+10FFFF), or npos.
size_t invalid_utf8_at(std::string_view text);

// The offset of the '[' or '{' (outside strings) that opens level `limit` + 1, or npos.
size_t json_too_deep_at(std::string_view text, int limit = kMaxJsonDepth);

// kInvalid when `text` holds invalid UTF-8 or nests deeper than kMaxJsonDepth; messages
// start with `what` ("the request body") and say where: "at byte N (line L, column C)",
// bytes and lines counted from 1.
Status check_json_text(std::string_view text, const std::string& what);

// The kInvalid for a parser's failure at byte `byte` (counted from 1, as nlohmann's
// parse_error::byte is; 0 when unknown) with the library's message `library_message`.
Status json_syntax_error(std::string_view text, size_t byte, const std::string& library_message,
                         const std::string& what);

// Parses `text` as a Json (nlohmann::json or ordered_json), or says what is wrong and where.
template <class Json>
Result<Json> parse_json(std::string_view text, const std::string& what) {
  if (Status s = check_json_text(text, what); !s) return s;
  try {
    return Json::parse(text);
  } catch (const typename Json::parse_error& e) {
    return json_syntax_error(text, e.byte, e.what(), what);
  } catch (const typename Json::exception& e) {  // a number out of range ("1e999")
    return json_syntax_error(text, 0, e.what(), what);
  }
}

// Parses `text`, or gives a discarded value (is_discarded()) when it is not JSON or is
// nested deeper than kMaxJsonDepth.
template <class Json>
Json parse_json_or_discarded(std::string_view text) {
  if (json_too_deep_at(text) != std::string_view::npos) return Json(Json::value_t::discarded);
  return Json::parse(text, nullptr, false);
}

// The member `key` of `j` when `j` is an object and the member an object (an array), else an
// empty one: for reading stored and live objects, whose fields may be absent, null or of
// another type, without nlohmann's type errors.
template <class Json>
Json object_member(const Json& j, const char* key) {
  if (!j.is_object()) return Json::object();
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : Json::object();
}
template <class Json>
Json array_member(const Json& j, const char* key) {
  if (!j.is_object()) return Json::array();
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : Json::array();
}

}  // namespace skiff
