#include "util/json_text.h"

#include <algorithm>

namespace skiff {
namespace {

// "at byte N (line L, column C)" for the byte at `offset` (counted from 0).
std::string position(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  std::string_view before = text.substr(0, offset);
  size_t line = 1 + static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
  size_t line_start = before.rfind('\n');
  size_t column = offset - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
  return "at byte " + std::to_string(offset + 1) + " (line " + std::to_string(line) + ", column " +
         std::to_string(column) + ")";
}

bool continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

size_t invalid_utf8_at(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size();
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // The length of the sequence and the range its second byte must fall in (which rules
    // out overlong forms, surrogates D800-DFFF and code points past U+10FFFF).
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + 1 >= n || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if (i + k >= n || !continuation(s[i + k])) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

size_t json_too_deep_at(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // whatever is escaped cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

Status check_json_text(std::string_view text, const std::string& what) {
  if (size_t at = invalid_utf8_at(text); at != std::string_view::npos) {
    return invalid(what + " has invalid UTF-8 " + position(text, at) + ": JSON text must be UTF-8");
  }
  if (size_t at = json_too_deep_at(text); at != std::string_view::npos) {
    return invalid(what + " is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels " + position(text, at) +
                   "; flatten it");
  }
  return Status::ok();
}

Status json_syntax_error(std::string_view text, size_t byte, const std::string& library_message,
                         const std::string& what) {
  // nlohmann says "[json.exception.parse_error.101] parse error at line 1, column 5: <why>"
  // or "[json.exception.out_of_range.406] <why>"; keep <why>, and say where ourselves.
  std::string why = library_message;
  if (why.rfind("[json.exception.", 0) == 0 && why.find("] ") != std::string::npos) why.erase(0, why.find("] ") + 2);
  if (why.rfind("parse error", 0) == 0 && why.find(": ") != std::string::npos) why.erase(0, why.find(": ") + 2);
  std::string message = what + " is not valid JSON";
  if (byte > 0) message.append(" ").append(position(text, byte - 1));
  return invalid(message.append(": ").append(why));
}

}  // namespace skiff
