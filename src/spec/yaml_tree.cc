#include "spec/yaml_tree.h"

#include <cerrno>
#include <cstdlib>
#include <set>

#include "util/strings.h"

namespace skiff::spec::detail {

std::string index_path(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

bool within_limits(const YAML::Node& n, size_t& budget, int max_depth) {
  if (budget == 0 || max_depth < 0) return false;
  --budget;
  if (n.IsMap()) {
    for (const auto& kv : n)
      if (!within_limits(kv.first, budget, max_depth - 1) || !within_limits(kv.second, budget, max_depth - 1)) return false;
  } else if (n.IsSequence()) {
    for (const auto& e : n)
      if (!within_limits(e, budget, max_depth - 1)) return false;
  }
  return true;
}

SourcePos Ctx::pos(const YAML::Node& n) const {
  SourcePos p;
  p.file = file_;
  if (n.IsDefined()) {
    YAML::Mark m = n.Mark();
    if (m.line >= 0) {
      p.line = m.line + 1;
      p.col = m.column + 1;
    }
  }
  return p;
}

void Ctx::error(const YAML::Node& at, const std::string& path, const std::string& message) {
  out_->push_back(Diagnostic{pos(at), path, message});
}

bool Ctx::map(const YAML::Node& n, const std::string& path) {
  if (!n.IsDefined() || n.IsNull()) return false;
  if (n.IsMap()) return true;
  error(n, path, "must be a map (key: value pairs)");
  return false;
}

bool Ctx::seq(const YAML::Node& n, const std::string& path) {
  if (!n.IsDefined() || n.IsNull()) return false;
  if (n.IsSequence()) return true;
  error(n, path, "must be a list");
  return false;
}

void Ctx::keys(const YAML::Node& n, const std::string& path, std::initializer_list<const char*> known) {
  if (!n.IsMap()) return;
  std::set<std::string> seen;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) {
      error(kv.first, path, "keys must be plain strings");
      continue;
    }
    const std::string& key = kv.first.Scalar();
    std::string key_path = path.empty() ? key : path + "." + key;
    if (!seen.insert(key).second) {
      error(kv.first, key_path, "duplicate field \"" + key + "\"; keep one of them");
      continue;
    }
    bool found = false;
    for (const char* k : known) found |= key == k;
    if (found) continue;
    std::vector<std::string> candidates(known.begin(), known.end());
    std::string hint = nearest(key, candidates);
    error(kv.first, key_path,
          "unknown field \"" + key + "\"" + (hint.empty() ? "" : "; did you mean \"" + hint + "\"?"));
  }
}

std::string Ctx::str(const YAML::Node& n, const std::string& path) {
  auto v = opt_str(n, path);
  return v ? *v : std::string();
}

std::optional<std::string> Ctx::opt_str(const YAML::Node& n, const std::string& path) {
  if (!n.IsDefined() || n.IsNull()) return std::nullopt;
  if (n.IsScalar()) return n.Scalar();
  error(n, path, n.IsMap() ? "must be a string, not a map" : "must be a string, not a list");
  return std::nullopt;
}

std::string Ctx::any_text(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  return json(n).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool Ctx::boolean(const YAML::Node& n, const std::string& path) {
  if (!n.IsDefined() || n.IsNull()) return false;
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  error(n, path, "must be true or false");
  return false;
}

std::optional<int64_t> Ctx::integer(const YAML::Node& n, const std::string& path) {
  if (!n.IsDefined() || n.IsNull()) return std::nullopt;
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end && *end == 0 && errno == 0) return v;
  }
  error(n, path, "must be an integer");
  return std::nullopt;
}

std::vector<std::string> Ctx::strings(const YAML::Node& n, const std::string& path) {
  std::vector<std::string> out;
  if (!seq(n, path)) return out;
  for (size_t i = 0; i < n.size(); ++i) {
    if (n[i].IsScalar()) out.push_back(n[i].Scalar());
    else error(n[i], index_path(path, i), "must be a string");
  }
  return out;
}

std::map<std::string, std::string> Ctx::string_map(const YAML::Node& n, const std::string& path) {
  std::map<std::string, std::string> out;
  if (!map(n, path)) return out;
  for (const auto& kv : n) {
    std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (kv.second.IsScalar() || kv.second.IsNull()) out[key] = kv.second.IsNull() ? "" : kv.second.Scalar();
    else error(kv.second, path + "." + key, "must be a string");
  }
  return out;
}

std::string Ctx::json_text(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "";
  return json(n).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json Ctx::json(const YAML::Node& n) { return json_at(n, 0); }

nlohmann::json Ctx::json_at(const YAML::Node& n, int depth) {
  if (depth > max_depth_) {
    error(n, "", "nested more than " + std::to_string(max_depth_) + " levels deep");
    return nullptr;
  }
  if (!n.IsDefined() || n.IsNull()) return nullptr;
  if (n.IsMap()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& kv : n) out[kv.first.IsScalar() ? kv.first.Scalar() : ""] = json_at(kv.second, depth + 1);
    return out;
  }
  if (n.IsSequence()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : n) out.push_back(json_at(e, depth + 1));
    return out;
  }
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted: always a string
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s == "null" || s == "~" || s == "Null" || s == "NULL") return nullptr;
  if (!s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '+' || s[0] == '.')) {
    char* end = nullptr;
    errno = 0;
    long long i = std::strtoll(s.c_str(), &end, 10);
    if (end && *end == 0 && errno == 0) return static_cast<int64_t>(i);
    double d = std::strtod(s.c_str(), &end);
    if (end && *end == 0 && s.find_first_of("0123456789") != std::string::npos) return d;
  }
  return s;
}

}  // namespace skiff::spec::detail
