#include "kube/go_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>

namespace skiff::kube {
namespace {

// The shortest decimal digits that read back as `v` (> 0), and where the point goes:
// v = 0.<digits> * 10^point.
void shortest_digits(double v, std::string* digits, int* point) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string s(buf, ec == std::errc() ? end : buf);  // "1.2345e+06"
  size_t e = s.find('e');
  digits->clear();
  for (size_t i = 0; i < e; ++i) {
    if (s[i] != '.') *digits += s[i];
  }
  *point = std::stoi(s.substr(e + 1)) + 1;
}

// strconv.FormatFloat(v, 'e', -1, 64): "1.5e+06", at least two exponent digits.
std::string exponent_form(const std::string& digits, int point) {
  std::string out(1, digits[0]);
  if (digits.size() > 1) out.append(".").append(digits, 1);
  int exp = point - 1;
  out.append(exp < 0 ? "e-" : "e+");
  if (exp > -10 && exp < 10) out.push_back('0');
  return out.append(std::to_string(exp < 0 ? -exp : exp));
}

// strconv.FormatFloat(v, 'f', -1, 64).
std::string fixed_form(const std::string& digits, int point) {
  if (point <= 0) return "0." + std::string(static_cast<size_t>(-point), '0') + digits;
  if (static_cast<size_t>(point) >= digits.size()) return digits + std::string(point - digits.size(), '0');
  return digits.substr(0, point) + "." + digits.substr(point);
}

// Kubernetes decodes a number as int64 when it is one, else as float64.
bool as_int64(const nlohmann::json& v, int64_t* out) {
  if (v.is_number_integer() && !v.is_number_unsigned()) {
    *out = v.get<int64_t>();
    return true;
  }
  if (v.is_number_unsigned() && v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    *out = static_cast<int64_t>(v.get<uint64_t>());
    return true;
  }
  return false;
}

void append_json_string(const std::string& s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  *out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': *out += "\\\""; continue;
      case '\\': *out += "\\\\"; continue;
      case '\b': *out += "\\b"; continue;
      case '\f': *out += "\\f"; continue;
      case '\n': *out += "\\n"; continue;
      case '\r': *out += "\\r"; continue;
      case '\t': *out += "\\t"; continue;
      default: break;
    }
    if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      *out += "\\u00";
      *out += kHex[c >> 4];
      *out += kHex[c & 0xF];
    } else if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xA8) {
      *out += (static_cast<unsigned char>(s[i + 2]) == 0xA8) ? "\\u2028" : "\\u2029";  // JavaScript line breaks
      i += 2;
    } else {
      *out += static_cast<char>(c);
    }
  }
  *out += '"';
}

void append_json(const nlohmann::json& v, std::string* out) {
  switch (v.type()) {
    case nlohmann::json::value_t::object: {
      *out += '{';
      bool first = true;
      for (const auto& [key, item] : v.items()) {  // nlohmann keeps keys sorted, as Go writes maps
        if (!first) *out += ',';
        first = false;
        append_json_string(key, out);
        *out += ':';
        append_json(item, out);
      }
      *out += '}';
      return;
    }
    case nlohmann::json::value_t::array: {
      *out += '[';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) *out += ',';
        append_json(v[i], out);
      }
      *out += ']';
      return;
    }
    case nlohmann::json::value_t::string: append_json_string(v.get_ref<const std::string&>(), out); return;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: {
      int64_t i;
      if (as_int64(v, &i)) {
        *out += std::to_string(i);
        return;
      }
      double f = v.get<double>();
      if (f == 0) {
        *out += std::signbit(f) ? "-0" : "0";
        return;
      }
      std::string digits;
      int point;
      shortest_digits(std::fabs(f), &digits, &point);
      if (f < 0) *out += '-';
      double a = std::fabs(f);
      if (a < 1e-6 || a >= 1e21) {
        std::string e = exponent_form(digits, point);
        size_t n = e.size();
        if (n >= 4 && e[n - 4] == 'e' && e[n - 3] == '-' && e[n - 2] == '0') e.erase(n - 2, 1);  // e-07 -> e-7
        *out += e;
      } else {
        *out += fixed_form(digits, point);
      }
      return;
    }
    default: *out += v.dump(); return;  // true, false, null
  }
}

}  // namespace

std::string go_print_float(double value) {
  if (value == 0) return std::signbit(value) ? "-0" : "0";
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  std::string digits;
  int point;
  shortest_digits(std::fabs(value), &digits, &point);
  int exp = point - 1;
  std::string body = (exp < -4 || exp >= 6) ? exponent_form(digits, point) : fixed_form(digits, point);
  return value < 0 ? "-" + body : body;
}

std::string go_print(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::string: return value.get_ref<const std::string&>();
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return value.get<bool>() ? "true" : "false";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: {
      int64_t i;
      return as_int64(value, &i) ? std::to_string(i) : go_print_float(value.get<double>());
    }
    default: return go_json(value);
  }
}

std::string go_json(const nlohmann::json& value) {
  std::string out;
  append_json(value, &out);
  return out;
}

}  // namespace skiff::kube
