// Operators and built-in functions of the expression language.
#include "expr/functions.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <regex>

#include "util/base64.h"
#include "util/json_text.h"
#include "util/strings.h"

namespace skiff::expr::detail {

namespace {

constexpr size_t kMaxRegexInput = 16 * 1024;
constexpr size_t kMaxString = 16 << 20;

bool is_num(const Value& v) { return v.is_number(); }
double num(const Value& v) { return v.get<double>(); }

Result<Value> to_int(const Value& v) {
  if (v.is_number_integer()) return v;
  if (v.is_number_float()) return Value(static_cast<int64_t>(v.get<double>()));
  if (v.is_boolean()) return Value(static_cast<int64_t>(v.get<bool>()));
  if (v.is_string()) {
    std::string s(trim(v.get<std::string>()));
    char* end = nullptr;
    errno = 0;
    long long i = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end && *end == 0 && errno == 0) return Value(static_cast<int64_t>(i));
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == 0) return Value(static_cast<int64_t>(d));
  }
  return invalid("cannot convert " + render(v) + " to an int");
}

Result<Value> to_float(const Value& v) {
  if (v.is_number()) return Value(v.get<double>());
  if (v.is_string()) {
    std::string s(trim(v.get<std::string>()));
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == 0) return Value(d);
  }
  return invalid("cannot convert " + render(v) + " to a float");
}

Result<bool> regex_match(const std::string& pattern, const std::string& text) {
  if (pattern.size() > 1024 || text.size() > kMaxRegexInput) return invalid("regular expression or its input too long");
  try {
    return std::regex_search(text, std::regex(pattern, std::regex::ECMAScript));
  } catch (const std::exception& e) {
    return invalid("bad regular expression \"" + pattern + "\"");
  }
}

std::string str(const Value& v) { return render(v); }

bool empty_value(const Value& v) {
  if (v.is_null()) return true;
  if (v.is_string()) return v.get_ref<const std::string&>().empty();
  if (v.is_boolean()) return !v.get<bool>();
  if (v.is_number()) return v.get<double>() == 0;
  return v.empty();
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
    if (s.size() > kMaxString) break;
  }
  return s;
}

Status arity(const std::string& f, const std::vector<Value>& a, size_t lo, size_t hi) {
  if (a.size() < lo || a.size() > hi)
    return invalid(f + "() takes " + (lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi)) +
                   " arguments, got " + std::to_string(a.size()));
  return Status::ok();
}

Result<Value> arith(const std::string& op, const Value& l, const Value& r) {
  if (!is_num(l) || !is_num(r)) return invalid("\"" + op + "\" needs numbers, got " + str(l) + " and " + str(r));
  bool ints = l.is_number_integer() && r.is_number_integer();
  if (op == "/") {
    if (num(r) == 0) return invalid("division by zero");
    return Value(num(l) / num(r));
  }
  if (op == "**") return Value(std::pow(num(l), num(r)));
  if (op == "%") {
    if (!ints) return invalid("\"%\" needs integers");
    if (r.get<int64_t>() == 0) return invalid("division by zero");
    return Value(l.get<int64_t>() % r.get<int64_t>());
  }
  if (ints) {
    int64_t a = l.get<int64_t>(), b = r.get<int64_t>(), out = 0;
    bool overflow = op == "+" ? __builtin_add_overflow(a, b, &out)
                    : op == "-" ? __builtin_sub_overflow(a, b, &out)
                                : __builtin_mul_overflow(a, b, &out);
    if (overflow) return invalid("integer overflow");
    return Value(out);
  }
  double a = num(l), b = num(r);
  return Value(op == "+" ? a + b : op == "-" ? a - b : a * b);
}

}  // namespace

Result<Value> apply_binary(const std::string& op, const Value& l, const Value& r) {
  if (op == "==") return Value(l == r);
  if (op == "!=") return Value(l != r);
  if (op == "+" && l.is_string() && r.is_string()) {
    if (l.get_ref<const std::string&>().size() + r.get_ref<const std::string&>().size() > kMaxString)
      return invalid("string too long");
    return Value(l.get<std::string>() + r.get<std::string>());
  }
  if (op == "+" || op == "-" || op == "*" || op == "/" || op == "%" || op == "**") return arith(op, l, r);
  if (op == "<" || op == ">" || op == "<=" || op == ">=") {
    int c;
    if (is_num(l) && is_num(r)) c = num(l) < num(r) ? -1 : num(l) > num(r) ? 1 : 0;
    else if (l.is_string() && r.is_string()) c = l.get<std::string>().compare(r.get<std::string>());
    else return invalid("cannot compare " + str(l) + " and " + str(r));
    return Value(op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0);
  }
  if (op == "in") {
    if (r.is_array()) return Value(std::find(r.begin(), r.end(), l) != r.end());
    if (r.is_object()) return Value(r.contains(str(l)));
    if (r.is_string()) return Value(r.get<std::string>().find(str(l)) != std::string::npos);
    return invalid("\"in\" needs a list or a map on its right");
  }
  if (op == "contains") return Value(str(l).find(str(r)) != std::string::npos);
  if (op == "startsWith") return Value(starts_with(str(l), str(r)));
  if (op == "endsWith") return Value(ends_with(str(l), str(r)));
  if (op == "matches" || op == "=~" || op == "!~") {
    auto m = regex_match(str(r), str(l));
    if (!m) return m.status();
    return Value(op == "!~" ? !*m : *m);
  }
  if (op == "..") {
    auto a = to_int(l), b = to_int(r);
    if (!a || !b) return invalid("\"..\" needs integers");
    int64_t from = a->get<int64_t>(), to = b->get<int64_t>();
    if (to - from > 100000) return invalid("range too large");
    Value out = Value::array();
    for (int64_t i = from; i <= to; ++i) out.push_back(i);
    return out;
  }
  return invalid("unknown operator \"" + op + "\"");
}

Result<Value> jsonpath(const Value& doc, const std::string& path) {
  std::vector<Value> cur{doc};
  size_t i = 0;
  if (i < path.size() && path[i] == '$') ++i;
  while (i < path.size()) {
    std::vector<Value> next;
    if (path[i] == '.') {
      ++i;
      size_t start = i;
      while (i < path.size() && path[i] != '.' && path[i] != '[') ++i;
      std::string key = path.substr(start, i - start);
      for (const auto& v : cur) {
        if (key == "*") {
          if (v.is_object() || v.is_array())
            for (const auto& e : v) next.push_back(e);
        } else if (v.is_object() && v.contains(key)) {
          next.push_back(v[key]);
        }
      }
    } else if (path[i] == '[') {
      size_t close = path.find(']', i);
      if (close == std::string::npos) return invalid("jsonpath \"" + path + "\": missing \"]\"");
      std::string key(trim(std::string_view(path).substr(i + 1, close - i - 1)));
      i = close + 1;
      bool quoted = key.size() >= 2 && (key[0] == '\'' || key[0] == '"');
      if (quoted) key = key.substr(1, key.size() - 2);
      for (const auto& v : cur) {
        if (key == "*") {
          if (v.is_object() || v.is_array())
            for (const auto& e : v) next.push_back(e);
        } else if (!quoted && v.is_array()) {
          char* end = nullptr;
          long long n = std::strtoll(key.c_str(), &end, 10);
          if (n < 0) n += static_cast<long long>(v.size());
          if (end && *end == 0 && n >= 0 && n < static_cast<long long>(v.size())) next.push_back(v[static_cast<size_t>(n)]);
        } else if (v.is_object() && v.contains(key)) {
          next.push_back(v[key]);
        }
      }
    } else {
      return invalid("jsonpath \"" + path + "\": unexpected \"" + path.substr(i, 1) + "\"");
    }
    cur = std::move(next);
  }
  if (cur.size() == 1) return cur[0];
  return Value(cur);
}

namespace {

// An RFC 3339 time ("2026-12-01T13:45:00Z", an offset, fractions) as seconds since the
// epoch (UTC), or nullopt.
std::optional<int64_t> parse_time(const std::string& text) {
  std::tm t{};
  int y, mo, d, h, mi, sec;
  char sep;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &y, &mo, &d, &sep, &h, &mi, &sec) != 7 ||
      (sep != 'T' && sep != 't' && sep != ' '))
    return std::nullopt;
  t.tm_year = y - 1900;
  t.tm_mon = mo - 1;
  t.tm_mday = d;
  t.tm_hour = h;
  t.tm_min = mi;
  t.tm_sec = sec;
  int64_t epoch = timegm(&t);
  size_t zone = text.find_first_of("Zz+-", 19);
  if (zone != std::string::npos && (text[zone] == '+' || text[zone] == '-')) {
    int zh = 0, zm = 0;
    if (std::sscanf(text.c_str() + zone + 1, "%2d:%2d", &zh, &zm) >= 1)
      epoch -= (text[zone] == '-' ? -1 : 1) * (zh * 3600 + zm * 60);
  }
  return epoch;
}

// Go's time layout (2006-01-02 15:04:05, Jan, Mon, PM, MST, -0700 ...) applied to `epoch`
// in UTC: sprig's date.
std::string go_time_format(const std::string& layout, int64_t epoch) {
  std::time_t tt = static_cast<std::time_t>(epoch);
  std::tm t{};
  gmtime_r(&tt, &t);
  static const char* kMonths[] = {"January", "February", "March", "April", "May", "June", "July",
                                  "August", "September", "October", "November", "December"};
  static const char* kDays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
  auto two = [](int v) { return (v < 10 ? "0" : "") + std::to_string(v); };
  int h12 = t.tm_hour % 12 == 0 ? 12 : t.tm_hour % 12;
  // Longest tokens first, as Go matches them.
  const std::vector<std::pair<std::string, std::string>> tokens = {
      {"January", kMonths[t.tm_mon]}, {"Monday", kDays[t.tm_wday]}, {"Z07:00", "Z"}, {"-07:00", "+00:00"},
      {"-0700", "+0000"}, {"2006", std::to_string(t.tm_year + 1900)}, {"Jan", std::string(kMonths[t.tm_mon], 3)},
      {"Mon", std::string(kDays[t.tm_wday], 3)}, {"MST", "UTC"}, {"_2", (t.tm_mday < 10 ? " " : "") + std::to_string(t.tm_mday)},
      {"01", two(t.tm_mon + 1)}, {"02", two(t.tm_mday)}, {"03", two(h12)}, {"04", two(t.tm_min)}, {"05", two(t.tm_sec)},
      {"06", two(t.tm_year % 100)}, {"15", two(t.tm_hour)}, {"PM", t.tm_hour >= 12 ? "PM" : "AM"},
      {"pm", t.tm_hour >= 12 ? "pm" : "am"}, {"1", std::to_string(t.tm_mon + 1)}, {"2", std::to_string(t.tm_mday)},
      {"3", std::to_string(h12)}, {"4", std::to_string(t.tm_min)}, {"5", std::to_string(t.tm_sec)},
  };
  std::string out;
  for (size_t i = 0; i < layout.size();) {
    bool matched = false;
    for (const auto& [token, value] : tokens) {
      if (layout.compare(i, token.size(), token) == 0) {
        out += value;
        i += token.size();
        matched = true;
        break;
      }
    }
    if (!matched) out += layout[i++];
  }
  return out;
}

}  // namespace

Result<Value> call_function(const std::string& f, const std::vector<Value>& a) {
  auto need = [&](size_t lo, size_t hi) { return arity(f, a, lo, hi); };
  std::string name = starts_with(f, "sprig.") ? f.substr(6) : f;
  bool sprig = name.size() != f.size();
  Status st;
#define ARGS(lo, hi) \
  if (!(st = need(lo, hi))) return st
  if (name == "asInt" || name == "int" || name == "atoi" || name == "toInt" || name == "int64") { ARGS(1, 1); return to_int(a[0]); }
  if (name == "asFloat" || name == "float" || name == "float64" || name == "toFloat") { ARGS(1, 1); return to_float(a[0]); }
  if (name == "string" || name == "toString" || name == "toStr") { ARGS(1, 1); return Value(str(a[0])); }
  if (name == "toJson" || name == "toRawJson" || name == "mustToJson") { ARGS(1, 1); return Value(a[0].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)); }
  if (name == "toPrettyJson") { ARGS(1, 1); return Value(a[0].dump(2, ' ', false, nlohmann::json::error_handler_t::replace)); }
  if (name == "fromJson" || name == "mustFromJson") {
    ARGS(1, 1);
    Value v = parse_json_or_discarded<Value>(str(a[0]));
    if (v.is_discarded()) return invalid(f + "(): not JSON: " + str(a[0]).substr(0, 80));
    return v;
  }
  if (name == "jsonpath") {
    ARGS(2, 2);
    Value doc = a[0];
    if (doc.is_string()) {
      doc = parse_json_or_discarded<Value>(a[0].get<std::string>());
      if (doc.is_discarded()) return invalid("jsonpath(): the first argument is not JSON");
    }
    return jsonpath(doc, str(a[1]));
  }
  if (name == "len") {
    ARGS(1, 1);
    if (a[0].is_string()) return Value(static_cast<int64_t>(a[0].get_ref<const std::string&>().size()));
    if (a[0].is_array() || a[0].is_object()) return Value(static_cast<int64_t>(a[0].size()));
    return invalid("len() needs a string, list or map");
  }
  if (name == "lower") { ARGS(1, 1); std::string s = str(a[0]); std::transform(s.begin(), s.end(), s.begin(), ::tolower); return Value(s); }
  if (name == "upper") { ARGS(1, 1); std::string s = str(a[0]); std::transform(s.begin(), s.end(), s.begin(), ::toupper); return Value(s); }
  if (name == "trim" || name == "trimAll") {
    ARGS(1, 2);
    if (a.size() == 1) return Value(std::string(trim(str(a[0]))));
    std::string cut = sprig ? str(a[0]) : str(a[1]), s = sprig ? str(a[1]) : str(a[0]);
    size_t b = s.find_first_not_of(cut), e = s.find_last_not_of(cut);
    return Value(b == std::string::npos ? std::string() : s.substr(b, e - b + 1));
  }
  if (name == "trimPrefix") {
    ARGS(2, 2);
    std::string p = sprig ? str(a[0]) : str(a[1]), s = sprig ? str(a[1]) : str(a[0]);
    return Value(starts_with(s, p) ? s.substr(p.size()) : s);
  }
  if (name == "trimSuffix") {
    ARGS(2, 2);
    std::string p = sprig ? str(a[0]) : str(a[1]), s = sprig ? str(a[1]) : str(a[0]);
    return Value(ends_with(s, p) ? s.substr(0, s.size() - p.size()) : s);
  }
  if (name == "replace") {
    ARGS(3, 3);
    // expr-lang: replace(s, old, new); sprig: replace old new s.
    if (sprig) return Value(replace_all(str(a[2]), str(a[0]), str(a[1])));
    return Value(replace_all(str(a[0]), str(a[1]), str(a[2])));
  }
  if (name == "contains") { ARGS(2, 2); return sprig ? Value(str(a[1]).find(str(a[0])) != std::string::npos) : Value(str(a[0]).find(str(a[1])) != std::string::npos); }
  if (name == "hasPrefix") { ARGS(2, 2); return Value(starts_with(str(a[1]), str(a[0]))); }
  if (name == "hasSuffix") { ARGS(2, 2); return Value(ends_with(str(a[1]), str(a[0]))); }
  if (name == "split" || name == "splitList") {
    ARGS(2, 2);
    std::string sep = name == "splitList" ? str(a[0]) : str(a[1]), s = name == "splitList" ? str(a[1]) : str(a[0]);
    if (sep.empty()) return invalid(f + "(): empty separator");
    Value out = Value::array();
    size_t start = 0, pos;
    while ((pos = s.find(sep, start)) != std::string::npos) {
      out.push_back(s.substr(start, pos - start));
      start = pos + sep.size();
    }
    out.push_back(s.substr(start));
    return out;
  }
  if (name == "join") {
    ARGS(1, 2);
    const Value& list = sprig ? a.back() : a[0];
    std::string sep = a.size() < 2 ? "" : sprig ? str(a[0]) : str(a[1]);
    if (!list.is_array()) return invalid(f + "(): needs a list");
    std::string out;
    for (size_t i = 0; i < list.size(); ++i) out += (i ? sep : "") + str(list[i]);
    return Value(out);
  }
  if (name == "date" && sprig) {  // sprig's date LAYOUT TIME: TIME an RFC 3339 string or Unix seconds
    ARGS(2, 2);
    std::optional<int64_t> epoch = a[1].is_number() ? std::optional<int64_t>(static_cast<int64_t>(num(a[1]))) : parse_time(str(a[1]));
    if (!epoch) return invalid(f + "(): \"" + str(a[1]) + "\" is not a time (RFC 3339, e.g. 2026-12-01T10:00:00Z)");
    return Value(go_time_format(str(a[0]), *epoch));
  }
  if (name == "default") { ARGS(2, 2); return empty_value(a[1]) ? a[0] : a[1]; }
  if (name == "empty") { ARGS(1, 1); return Value(empty_value(a[0])); }
  if (name == "coalesce") { for (const auto& v : a) if (!empty_value(v)) return v; return Value(); }
  if (name == "ternary") { ARGS(3, 3); if (!a[2].is_boolean()) return invalid("ternary(): the condition must be a bool"); return a[2].get<bool>() ? a[0] : a[1]; }
  if (name == "add" || name == "mul") {  // any number of arguments, as sprig's
    ARGS(1, 1000);
    auto total = to_int(a[0]);
    if (!total) return invalid(f + "(): needs numbers");
    Value acc = *total;
    for (size_t i = 1; i < a.size(); ++i) {
      auto v = to_int(a[i]);
      if (!v) return invalid(f + "(): needs numbers");
      auto next = arith(name == "add" ? "+" : "*", acc, *v);
      if (!next) return next;
      acc = std::move(*next);
    }
    return acc;
  }
  if (name == "sub" || name == "div" || name == "mod") {
    ARGS(2, 2);
    auto l = to_int(a[0]), r = to_int(a[1]);
    if (!l || !r) return invalid(f + "(): needs numbers");
    if (name == "div" || name == "mod") {
      if (r->get<int64_t>() == 0) return invalid("division by zero");
      return Value(name == "div" ? l->get<int64_t>() / r->get<int64_t>() : l->get<int64_t>() % r->get<int64_t>());
    }
    return arith("-", *l, *r);
  }
  if (name == "max" || name == "min") {
    if (a.empty()) return invalid(f + "(): needs arguments");
    Value best = a[0];
    for (const auto& v : a) {
      if (!is_num(v)) return invalid(f + "(): needs numbers");
      if (name == "max" ? num(v) > num(best) : num(v) < num(best)) best = v;
    }
    return best;
  }
  if (name == "abs") { ARGS(1, 1); if (a[0].is_number_integer()) return Value(std::llabs(a[0].get<int64_t>())); return Value(std::fabs(num(a[0]))); }
  if (name == "ceil") { ARGS(1, 1); return Value(std::ceil(num(a[0]))); }
  if (name == "floor") { ARGS(1, 1); return Value(std::floor(num(a[0]))); }
  if (name == "round") { ARGS(1, 1); return Value(std::round(num(a[0]))); }
  if (name == "quote") { ARGS(1, 1); return Value("\"" + str(a[0]) + "\""); }
  if (name == "squote") { ARGS(1, 1); return Value("'" + str(a[0]) + "'"); }
  if (name == "repeat") {
    ARGS(2, 2);
    auto n = to_int(a[0]);
    if (!n || n->get<int64_t>() < 0) return invalid("repeat(): count must be a non-negative int");
    std::string s = str(a[1]), out;
    if (s.size() * static_cast<size_t>(n->get<int64_t>()) > kMaxString) return invalid("repeat(): result too long");
    for (int64_t i = 0; i < n->get<int64_t>(); ++i) out += s;
    return Value(out);
  }
  if (name == "substr") {
    ARGS(3, 3);
    auto b = to_int(a[0]), e = to_int(a[1]);
    if (!b || !e) return invalid("substr(): needs int bounds");
    std::string s = str(a[2]);
    int64_t from = std::clamp<int64_t>(b->get<int64_t>(), 0, s.size());
    int64_t to = e->get<int64_t>() < 0 ? s.size() : std::clamp<int64_t>(e->get<int64_t>(), from, s.size());
    return Value(s.substr(from, to - from));
  }
  if (name == "b64enc") { ARGS(1, 1); return Value(base64_encode(str(a[0]))); }
  if (name == "b64dec") { ARGS(1, 1); auto d = base64_decode(str(a[0])); if (!d) return d.status().with_context("b64dec"); return Value(*d); }
  if (name == "list") return Value(a);
  if (name == "dict") {
    Value out = Value::object();
    for (size_t i = 0; i + 1 < a.size(); i += 2) out[str(a[i])] = a[i + 1];
    return out;
  }
  if (name == "get") { ARGS(2, 2); if (a[0].is_object() && a[0].contains(str(a[1]))) return a[0][str(a[1])]; return Value(""); }
  if (name == "keys") { ARGS(1, 1); Value out = Value::array(); if (a[0].is_object()) for (auto it = a[0].begin(); it != a[0].end(); ++it) out.push_back(it.key()); return out; }
  if (name == "first") { ARGS(1, 1); return a[0].is_array() && !a[0].empty() ? a[0][0] : Value(); }
  if (name == "last") { ARGS(1, 1); return a[0].is_array() && !a[0].empty() ? a[0].back() : Value(); }
  if (name == "regexMatch") { ARGS(2, 2); auto m = regex_match(str(a[0]), str(a[1])); if (!m) return m.status(); return Value(*m); }
  if (name == "title") { ARGS(1, 1); std::string s = str(a[0]); bool up = true; for (char& c : s) { if (up && std::isalpha(static_cast<unsigned char>(c))) c = static_cast<char>(std::toupper(c)); up = std::isspace(static_cast<unsigned char>(c)); } return Value(s); }
  if (name == "indexOf") { ARGS(2, 2); size_t p = str(a[0]).find(str(a[1])); return Value(p == std::string::npos ? int64_t{-1} : static_cast<int64_t>(p)); }
#undef ARGS
  return invalid("unknown function " + f + "()");
}

}  // namespace skiff::expr::detail
