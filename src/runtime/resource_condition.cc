#include "runtime/resource_condition.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>

#include "util/strings.h"

namespace skiff::runtime {
namespace {

// Argo has no limit, but keys and values are at most 63 characters each: a condition
// longer than this is a mistake, and a bound keeps parsing cheap.
constexpr size_t kMaxConditionBytes = 8192;
constexpr size_t kMaxNameLength = 63;
constexpr size_t kMaxPrefixLength = 253;

// The lexer of Kubernetes' selector grammar: identifiers run until whitespace or one of
// the special characters; operators are the longest run of special characters that is
// an operator ("!=" but "!" then "!" for "!!").
enum class Tok { kEnd, kIdent, kNot, kEquals, kDoubleEquals, kNotEquals, kGreater, kLess, kIn, kNotIn, kOpen, kClose, kComma };

struct Token {
  Tok tok;
  std::string text;
  size_t column;  // of its first character, counted from 1
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_special(char c) { return std::string_view("=!(),><").find(c) != std::string_view::npos; }

bool special_token(std::string_view s, Tok* tok) {
  static const std::pair<std::string_view, Tok> kSymbols[] = {
      {")", Tok::kClose}, {",", Tok::kComma},   {"!", Tok::kNot},     {"==", Tok::kDoubleEquals}, {"=", Tok::kEquals},
      {">", Tok::kGreater}, {"<", Tok::kLess}, {"!=", Tok::kNotEquals}, {"(", Tok::kOpen},
  };
  for (const auto& [text, t] : kSymbols) {
    if (text == s) {
      *tok = t;
      return true;
    }
  }
  return false;
}

std::vector<Token> lex(const std::string& s) {
  std::vector<Token> out;
  size_t i = 0;
  while (true) {
    while (i < s.size() && is_space(s[i])) ++i;
    if (i >= s.size()) break;
    size_t start = i;
    if (is_special(s[i])) {
      Tok tok = Tok::kEnd;
      size_t end = i;
      for (size_t j = i; j < s.size() && is_special(s[j]); ++j) {
        Tok t;
        if (special_token(std::string_view(s).substr(i, j - i + 1), &t)) {
          tok = t;
          end = j + 1;
        } else {
          break;
        }
      }
      i = end;  // every special character alone is a token, so end > start
      out.push_back({tok, s.substr(start, i - start), start + 1});
      continue;
    }
    while (i < s.size() && !is_space(s[i]) && !is_special(s[i])) ++i;
    std::string word = s.substr(start, i - start);
    Tok tok = word == "in" ? Tok::kIn : word == "notin" ? Tok::kNotIn : Tok::kIdent;
    out.push_back({tok, std::move(word), start + 1});
  }
  out.push_back({Tok::kEnd, "", s.size() + 1});
  return out;
}

bool alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], Kubernetes' qualified name and label value.
bool label_like(std::string_view s) {
  if (s.empty() || !alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

// What is wrong with `key` as a label key (Kubernetes' IsQualifiedName), or "".
std::string key_problem(const std::string& key) {
  size_t slash = key.find('/');
  std::string_view name = key;
  if (slash != std::string::npos) {
    if (key.find('/', slash + 1) != std::string::npos) {
      return "a key has at most one '/' (an optional DNS-subdomain prefix, then the path)";
    }
    std::string_view prefix = std::string_view(key).substr(0, slash);
    if (prefix.empty()) return "the prefix before '/' is empty";
    if (prefix.size() > kMaxPrefixLength) return fmt::format("the prefix before '/' is longer than {} characters", kMaxPrefixLength);
    if (!dns1123_subdomain(prefix)) {
      return "the prefix before '/' must be a lowercase DNS subdomain (a-z, 0-9, '-' and '.', alphanumeric at both ends)";
    }
    name = std::string_view(key).substr(slash + 1);
  }
  if (name.empty()) return "the key is empty after '/'";
  if (name.size() > kMaxNameLength) {
    return fmt::format("a key (after any prefix) is at most {} characters, as Kubernetes label keys are; this one has {}",
                       kMaxNameLength, name.size());
  }
  if (!label_like(name)) {
    return "a key may hold only letters, digits, '-', '_' and '.', and must start and end with a letter or digit";
  }
  return "";
}

std::string value_problem(const std::string& value) {
  if (value.size() > kMaxNameLength) {
    return fmt::format("a value is at most {} characters, as Kubernetes label values are; this one has {}", kMaxNameLength,
                       value.size());
  }
  if (!value.empty() && !label_like(value)) {
    return "a value may hold only letters, digits, '-', '_' and '.', and must start and end with a letter or digit";
  }
  return "";
}

class Parser {
 public:
  Parser(const std::string& text, const std::string& what) : text_(text), what_(what), toks_(lex(text)) {}

  Result<std::vector<Condition::Requirement>> parse() {
    std::vector<Condition::Requirement> out;
    while (true) {
      Token t = peek_value();
      if (t.tok == Tok::kEnd) return out;
      if (t.tok != Tok::kIdent && t.tok != Tok::kNot) return error(t, "a key or '!'");
      auto r = requirement();
      if (!r) return r.status();
      out.push_back(std::move(*r));
      Token sep = next_value();
      if (sep.tok == Tok::kEnd) return out;
      if (sep.tok != Tok::kComma) return error(sep, "',' or the end of the condition");
      Token after = peek_value();
      if (after.tok != Tok::kIdent && after.tok != Tok::kNot) return error(after, "a key or '!' after ','");
    }
  }

 private:
  // In value position, "in" and "notin" are plain words ("x in (in)").
  Token value_token(const Token& t) const {
    Token v = t;
    if (v.tok == Tok::kIn || v.tok == Tok::kNotIn) v.tok = Tok::kIdent;
    return v;
  }
  Token peek_value() const { return value_token(toks_[pos_]); }
  Token next_value() { return value_token(toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]); }
  const Token& next_raw() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }

  Status error(const Token& found, const std::string& expected) const {
    std::string got = found.tok == Tok::kEnd ? "the end" : "'" + found.text + "'";
    return invalid(fmt::format("{} \"{}\": expected {} at column {}, found {}", what_, text_, expected, found.column, got));
  }
  Status bad(const Token& at, const std::string& problem) const {
    return invalid(fmt::format("{} \"{}\": \"{}\" at column {}: {}", what_, text_, at.text, at.column, problem));
  }

  Result<Condition::Requirement> requirement() {
    Condition::Requirement r;
    Token key = next_value();
    bool negated = key.tok == Tok::kNot;
    if (negated) key = next_value();
    if (key.tok != Tok::kIdent) return error(key, "a key");
    if (std::string p = key_problem(key.text); !p.empty()) return bad(key, p);
    r.key = key.text;
    Tok after = peek_value().tok;
    if (negated || after == Tok::kEnd || after == Tok::kComma) {
      // "!key" must stand alone: Kubernetes then wants ',' or the end, which parse() checks.
      r.op = negated ? Condition::Op::kDoesNotExist : Condition::Op::kExists;
      return r;
    }
    const Token& op = next_raw();
    switch (op.tok) {
      case Tok::kIn: r.op = Condition::Op::kIn; break;
      case Tok::kNotIn: r.op = Condition::Op::kNotIn; break;
      case Tok::kEquals: r.op = Condition::Op::kEquals; break;
      case Tok::kDoubleEquals: r.op = Condition::Op::kDoubleEquals; break;
      case Tok::kNotEquals: r.op = Condition::Op::kNotEquals; break;
      case Tok::kGreater: r.op = Condition::Op::kGreaterThan; break;
      case Tok::kLess: r.op = Condition::Op::kLessThan; break;
      default: return error(op, "an operator (=, ==, !=, in, notin, >, <) after key \"" + r.key + "\"");
    }
    std::vector<Token> values;
    if (r.op == Condition::Op::kIn || r.op == Condition::Op::kNotIn) {
      auto v = value_set(&values);
      if (!v) return v;
    } else {
      Token t = peek_value();
      if (t.tok == Tok::kEnd || t.tok == Tok::kComma) {
        values.push_back({Tok::kIdent, "", t.column});  // "a=" compares with the empty value
      } else if (t = next_value(); t.tok == Tok::kIdent) {
        values.push_back(t);
      } else {
        return error(t, "a value");
      }
    }
    std::set<std::string> unique;
    for (const Token& v : values) {
      if (r.op == Condition::Op::kGreaterThan || r.op == Condition::Op::kLessThan) {
        int64_t n;
        if (!parse_go_int64(v.text, &n)) return bad(v, "'>' and '<' compare integers: the value must be an integer");
      }
      if (std::string p = value_problem(v.text); !p.empty()) return bad(v, p);
      unique.insert(v.text);
    }
    r.values.assign(unique.begin(), unique.end());
    return r;
  }

  // "(a, b)", "()" and "(a,,b)": empty entries are the empty value. Kubernetes' own
  // sequence of checks, so what it refuses ("(a b)", "(a,,)") is refused here too.
  Status value_set(std::vector<Token>* values) {
    Token open = next_value();
    if (open.tok != Tok::kOpen) return error(open, "'(' to start the list of values");
    Token t = peek_value();
    if (t.tok == Tok::kClose) {
      next_value();
      values->push_back({Tok::kIdent, "", t.column});
      return Status::ok();
    }
    if (t.tok != Tok::kIdent && t.tok != Tok::kComma) return error(t, "a value, ',' or ')'");
    while (true) {
      Token v = next_value();
      if (v.tok == Tok::kIdent) {
        values->push_back(v);
        Token after = peek_value();
        if (after.tok == Tok::kClose) break;
        if (after.tok != Tok::kComma) return error(after, "',' or ')'");
      } else if (v.tok == Tok::kComma) {
        if (values->empty()) values->push_back({Tok::kIdent, "", v.column});  // "(,a)"
        Token after = peek_value();
        if (after.tok == Tok::kClose) {
          values->push_back({Tok::kIdent, "", after.column});  // "(a,)"
          break;
        }
        if (after.tok == Tok::kComma) {
          next_value();
          values->push_back({Tok::kIdent, "", after.column});  // "(a,,b)"
        }
      } else {
        return error(v, "a value or ','");
      }
    }
    next_value();  // the ')' the loop stopped at
    return Status::ok();
  }

  const std::string& text_;
  const std::string& what_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
};

const char* op_text(Condition::Op op) {
  switch (op) {
    case Condition::Op::kEquals: return "=";
    case Condition::Op::kDoubleEquals: return "==";
    case Condition::Op::kNotEquals: return "!=";
    case Condition::Op::kIn: return " in ";
    case Condition::Op::kNotIn: return " notin ";
    case Condition::Op::kGreaterThan: return ">";
    case Condition::Op::kLessThan: return "<";
    case Condition::Op::kExists:
    case Condition::Op::kDoesNotExist: break;
  }
  return "";
}

std::string render(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::string: return v.get_ref<const std::string&>();
    case nlohmann::json::value_t::null: return "";
    case nlohmann::json::value_t::boolean: return v.get<bool>() ? "true" : "false";
    case nlohmann::json::value_t::number_integer: return std::to_string(v.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: return std::to_string(v.get<uint64_t>());
    case nlohmann::json::value_t::number_float: {
      // gjson prints a number that is not a plain integer with Go's FormatFloat(f, 'f', -1):
      // the shortest digits that read back, in fixed notation.
      char buf[400];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.get<double>(), std::chars_format::fixed);
      return ec == std::errc() ? std::string(buf, end) : v.dump();
    }
    default: return v.dump();
  }
}

bool matches(const Condition::Requirement& r, const nlohmann::json& object, std::string* seen, bool* present) {
  *present = gjson_lookup(object, r.key, seen);
  auto has = [&] { return std::binary_search(r.values.begin(), r.values.end(), *seen); };
  switch (r.op) {
    case Condition::Op::kEquals:
    case Condition::Op::kDoubleEquals:
    case Condition::Op::kIn: return *present && has();
    case Condition::Op::kNotEquals:
    case Condition::Op::kNotIn: return !*present || !has();
    case Condition::Op::kExists: return *present;
    case Condition::Op::kDoesNotExist: return !*present;
    case Condition::Op::kGreaterThan:
    case Condition::Op::kLessThan: {
      int64_t have, want;
      if (!*present || r.values.size() != 1 || !parse_go_int64(*seen, &have) || !parse_go_int64(r.values[0], &want)) return false;
      return r.op == Condition::Op::kGreaterThan ? have > want : have < want;
    }
  }
  return false;
}

}  // namespace

bool gjson_lookup(const nlohmann::json& object, const std::string& path, std::string* value) {
  const nlohmann::json* cur = &object;
  size_t i = 0;
  while (true) {
    std::string segment;
    for (; i < path.size() && path[i] != '.'; ++i) {
      if (path[i] == '\\' && i + 1 < path.size()) ++i;
      segment += path[i];
    }
    if (cur->is_object()) {
      auto it = cur->find(segment);
      if (it == cur->end()) return false;
      cur = &*it;
    } else if (cur->is_array()) {
      // gjson reads an all-digit segment as an index ("01" is 1); any other word finds nothing.
      if (segment.empty() || !std::all_of(segment.begin(), segment.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return false;
      }
      size_t index = 0;
      for (char c : segment) {
        index = index * 10 + static_cast<size_t>(c - '0');
        if (index >= cur->size()) break;  // also stops an overflow on a long run of digits
      }
      if (index >= cur->size()) return false;
      cur = &(*cur)[index];
    } else {
      return false;
    }
    if (i >= path.size()) break;
    ++i;  // the '.'
  }
  if (value) *value = render(*cur);
  return true;
}

std::string describe(const Condition::Requirement& r) {
  std::string out = r.op == Condition::Op::kDoesNotExist ? "!" + r.key : r.key;
  if (r.op == Condition::Op::kExists || r.op == Condition::Op::kDoesNotExist) return out;
  out += op_text(r.op);
  bool set = r.op == Condition::Op::kIn || r.op == Condition::Op::kNotIn;
  std::string joined = join(r.values, ",");
  return out + (set ? "(" + joined + ")" : joined);
}

Result<Condition> Condition::parse(const std::string& text, const std::string& what) {
  if (text.size() > kMaxConditionBytes) {
    return invalid(fmt::format("{} is {} bytes long; at most {} are allowed (split it, or compare fewer fields)", what,
                               text.size(), kMaxConditionBytes));
  }
  auto reqs = Parser(text, what).parse();
  if (!reqs) return reqs.status();
  Condition c;
  c.text_ = text;
  c.requirements_ = std::move(*reqs);
  // Kubernetes sorts the requirements by key, and Argo evaluates them in that order.
  std::stable_sort(c.requirements_.begin(), c.requirements_.end(),
                   [](const Requirement& a, const Requirement& b) { return a.key < b.key; });
  return c;
}

std::vector<Condition::Outcome> Condition::evaluate(const nlohmann::json& object) const {
  std::vector<Outcome> out;
  for (const Requirement& r : requirements_) {
    std::string seen;
    bool present = false;
    Outcome o;
    o.matched = matches(r, object, &seen, &present);
    if (seen.size() > 80) seen = seen.substr(0, 77) + "...";
    o.detail = describe(r) + (present ? " (is \"" + seen + "\")" : " (absent)");
    out.push_back(std::move(o));
  }
  return out;
}

bool Condition::all_match(const nlohmann::json& object) const {
  std::string seen;
  bool present;
  return std::all_of(requirements_.begin(), requirements_.end(),
                     [&](const Requirement& r) { return matches(r, object, &seen, &present); });
}

bool Condition::any_matches(const nlohmann::json& object, std::string* which) const {
  for (const Outcome& o : evaluate(object)) {
    if (o.matched) {
      if (which) *which = o.detail;
      return true;
    }
  }
  return false;
}

}  // namespace skiff::runtime
