// Internal to spec/: the decoding context over yaml-cpp nodes. Collects diagnostics with
// file:line:col and JSON paths, checks keys against the fields Argo knows, converts
// subtrees to JSON. Included only by spec's .cc files (it pulls in yaml-cpp and JSON).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "util/diagnostic.h"

namespace skiff::spec::detail {

class Ctx {
 public:
  Ctx(std::string file, Diagnostics* out, int max_depth) : file_(std::move(file)), out_(out), max_depth_(max_depth) {}

  SourcePos pos(const YAML::Node& n) const;
  void error(const YAML::Node& at, const std::string& path, const std::string& message);

  // True when `n` is a map; otherwise reports "must be a map". A null node is fine (absent).
  bool map(const YAML::Node& n, const std::string& path);
  bool seq(const YAML::Node& n, const std::string& path);
  // Reports every key of `n` that is not in `known`, with the nearest known key as a hint,
  // and every key that appears twice.
  void keys(const YAML::Node& n, const std::string& path, std::initializer_list<const char*> known);

  std::string str(const YAML::Node& n, const std::string& path);  // scalar text; "" if absent
  std::optional<std::string> opt_str(const YAML::Node& n, const std::string& path);
  // A value that may be any scalar (kept as text) or a map/list (kept as compact JSON).
  std::string any_text(const YAML::Node& n);
  bool boolean(const YAML::Node& n, const std::string& path);
  std::optional<int64_t> integer(const YAML::Node& n, const std::string& path);
  std::vector<std::string> strings(const YAML::Node& n, const std::string& path);
  std::map<std::string, std::string> string_map(const YAML::Node& n, const std::string& path);
  std::string json_text(const YAML::Node& n);  // "" when absent
  nlohmann::json json(const YAML::Node& n);

  const std::string& file() const { return file_; }

 private:
  nlohmann::json json_at(const YAML::Node& n, int depth);
  std::string file_;
  Diagnostics* out_;
  int max_depth_;
};

std::string index_path(const std::string& path, size_t i);

// Counts the nodes of `n` as decoding would visit them, YAML aliases expanded, stopping
// once `budget` or `max_depth` is passed (aliases make "billion laughs" documents tiny
// on disk and huge in memory). Returns false when a limit was passed.
bool within_limits(const YAML::Node& n, size_t& budget, int max_depth);

}  // namespace skiff::spec::detail
