#include "cd/diff_text.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

namespace skiff::cd {
namespace {

using nlohmann::json;

// Plain when YAML reads it back as the same string; else JSON's quoting (valid YAML).
std::string scalar(const json& v) {
  if (!v.is_string()) return v.dump();
  const std::string& s = v.get_ref<const std::string&>();
  static const char* kWords[] = {"true", "false", "null", "yes", "no", "on", "off", "~", "y", "n"};
  bool plain = !s.empty() && s.find_first_of("\n\"'{}[],&*!|>%@`\t\\") == std::string::npos && s.front() != ' ' &&
               s.back() != ' ' && s.back() != ':' && s.front() != '-' && s.front() != '?' && s.front() != '#' &&
               s.find(": ") == std::string::npos && s.find(" #") == std::string::npos;
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* word : kWords) plain = plain && lower != word;
  if (plain && !json::parse(s, nullptr, false).is_discarded()) plain = false;  // "1", "1.5", "1e3"
  if (plain && (std::isdigit(static_cast<unsigned char>(s.front())) || s.front() == '.' || s.front() == '+'))
    plain = s.find_first_not_of("0123456789.+-eE_xXoabcdefABCDEF") != std::string::npos;  // octal, hex ...
  return plain ? s : v.dump();
}

bool inline_value(const json& v) { return !v.is_structured() || v.empty(); }

void emit(const json& v, int indent, std::string& out);

void emit_entry(const std::string& lead, const json& v, int indent, std::string& out) {
  if (inline_value(v)) {
    out += lead + " " + scalar(v) + "\n";
    return;
  }
  out += lead + "\n";
  emit(v, v.is_array() ? indent : indent + 2, out);
}

void emit(const json& v, int indent, std::string& out) {
  std::string pad(indent, ' ');
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) emit_entry(pad + scalar(it.key()) + ":", *it, indent, out);
  } else if (v.is_array()) {
    for (const json& element : v) {
      if (inline_value(element)) {
        out += pad + "- " + scalar(element) + "\n";
        continue;
      }
      std::string inner;
      emit(element, indent + 2, inner);
      inner.replace(indent, 2, "- ");  // the element's first line carries the dash
      out += inner;
    }
  } else {
    out += pad + scalar(v) + "\n";
  }
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

std::string to_yaml(const json& value) {
  std::string out;
  if (inline_value(value)) return scalar(value) + "\n";
  emit(value, 0, out);
  return out;
}

std::string unified_diff(const std::string& live, const std::string& desired) {
  if (live == desired) return "";
  std::vector<std::string> a = lines_of(live), b = lines_of(desired);
  // Lines common to both ends need no table; the middle gets an LCS table when it is
  // small enough, else is shown as all removed then all added.
  size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix && a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix])
    ++suffix;
  size_t n = a.size() - prefix - suffix, m = b.size() - prefix - suffix;
  // ops: ' ' same, '-' only in live, '+' only in desired, with the line.
  std::vector<std::pair<char, const std::string*>> ops;
  for (size_t i = 0; i < prefix; ++i) ops.push_back({' ', &a[i]});
  if (n * m <= 4'000'000) {
    std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
    for (size_t i = n; i-- > 0;)
      for (size_t j = m; j-- > 0;)
        lcs[i][j] = a[prefix + i] == b[prefix + j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    size_t i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[prefix + i] == b[prefix + j]) {
        ops.push_back({' ', &a[prefix + i++]});
        ++j;
      } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
        ops.push_back({'-', &a[prefix + i++]});
      } else {
        ops.push_back({'+', &b[prefix + j++]});
      }
    }
  } else {
    for (size_t i = 0; i < n; ++i) ops.push_back({'-', &a[prefix + i]});
    for (size_t j = 0; j < m; ++j) ops.push_back({'+', &b[prefix + j]});
  }
  for (size_t i = a.size() - suffix; i < a.size(); ++i) ops.push_back({' ', &a[i]});

  // Hunks: changed lines with up to 3 lines of context around them.
  const size_t kContext = 3;
  std::string out = "--- live\n+++ desired\n";
  size_t k = 0;
  while (k < ops.size()) {
    while (k < ops.size() && ops[k].first == ' ') ++k;
    if (k == ops.size()) break;
    size_t start = k >= kContext ? k - kContext : 0;
    size_t end = k;
    for (size_t quiet = 0; end < ops.size() && quiet <= 2 * kContext; ++end)
      quiet = ops[end].first == ' ' ? quiet + 1 : 0;
    // end overshoots by the quiet run; trim it back to kContext lines of context.
    size_t last_change = end;
    while (last_change > start && ops[last_change - 1].first == ' ') --last_change;
    end = std::min(ops.size(), last_change + kContext);
    size_t a_line = 1, b_line = 1;
    for (size_t x = 0; x < start; ++x) {
      if (ops[x].first != '+') ++a_line;
      if (ops[x].first != '-') ++b_line;
    }
    size_t a_count = 0, b_count = 0;
    for (size_t x = start; x < end; ++x) {
      if (ops[x].first != '+') ++a_count;
      if (ops[x].first != '-') ++b_count;
    }
    out += fmt::format("@@ -{},{} +{},{} @@\n", a_count ? a_line : a_line - 1, a_count, b_count ? b_line : b_line - 1,
                       b_count);
    for (size_t x = start; x < end; ++x) out += std::string(1, ops[x].first) + *ops[x].second + "\n";
    k = end;
  }
  return out;
}

}  // namespace skiff::cd
