#include "runtime/quantity.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace skiff::runtime {

Result<double> parse_quantity(const std::string& text, const std::string& what) {
  static const std::vector<std::pair<std::string, double>> kSuffixes = {
      {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0}, {"Pi", 1125899906842624.0},
      {"Ei", 1152921504606846976.0}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18},
      {"m", 1e-3}, {"u", 1e-6}, {"n", 1e-9}};
  std::string number = text;
  double scale = 1;
  for (const auto& [suffix, factor] : kSuffixes) {
    if (number.size() > suffix.size() && number.compare(number.size() - suffix.size(), suffix.size(), suffix) == 0) {
      number.resize(number.size() - suffix.size());
      scale = factor;
      break;
    }
  }
  char* end = nullptr;
  double v = std::strtod(number.c_str(), &end);
  if (number.empty() || !end || *end != '\0' || !std::isfinite(v) || v < 0) {
    return invalid(what + " \"" + text + "\" is not a quantity (e.g. 256Mi, 1Gi, 500m, 2)");
  }
  return v * scale;
}

namespace {

using Json = nlohmann::json;

// This machine's capacity: what the kubelet gives for a limit the container does not set.
double capacity(const std::string& kind) {
  if (kind == "cpu") return static_cast<double>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
  if (kind == "memory") {
    std::ifstream in("/proc/meminfo");
    std::string key, unit;
    double kb = 0;
    while (in >> key >> kb >> unit)
      if (key == "MemTotal:") return kb * 1024;
    return 0;
  }
  struct statvfs fs{};
  if (::statvfs("/", &fs) != 0) return 0;
  return static_cast<double>(fs.f_blocks) * static_cast<double>(fs.f_frsize);
}

Result<double> quantity_at(const Json& section, const std::string& kind, const std::string& what) {
  if (!section.is_object() || !section.contains(kind)) return -1.0;
  const Json& v = section[kind];
  return parse_quantity(v.is_string() ? v.get<std::string>() : v.dump(), what);
}

}  // namespace

Result<std::string> resource_field_value(const std::string& resources_json, const std::string& resource,
                                         const std::string& divisor_text, const std::string& env_name) {
  std::string what = "env " + env_name + ": resourceFieldRef";
  size_t dot = resource.find('.');
  std::string side = dot == std::string::npos ? "" : resource.substr(0, dot);
  std::string kind = dot == std::string::npos ? "" : resource.substr(dot + 1);
  if ((side != "limits" && side != "requests") || (kind != "cpu" && kind != "memory" && kind != "ephemeral-storage"))
    return invalid(what + ".resource \"" + resource +
                   "\" is not one of limits.cpu, limits.memory, limits.ephemeral-storage, requests.cpu, "
                   "requests.memory, requests.ephemeral-storage");
  auto divisor = parse_quantity(divisor_text.empty() ? "1" : divisor_text, what + ".divisor");
  if (!divisor) return divisor.status();
  // Kubernetes allows 1m and 1 for cpu, and 1, 1k, 1Ki ... 1E, 1Ei for memory and storage.
  bool divisor_ok = kind == "cpu" ? (*divisor == 1 || *divisor == 1e-3)
                                  : *divisor >= 1 && std::fabs(*divisor - std::round(*divisor)) < 1e-9 &&
                                        divisor_text.find_first_of(".e") == std::string::npos &&
                                        (divisor_text.empty() || divisor_text[0] == '1') &&
                                        divisor_text.find_first_not_of("1kKMGTPEi") == std::string::npos;
  if (!divisor_ok)
    return invalid(what + ".divisor \"" + divisor_text + "\" is not one Kubernetes allows for " + kind +
                   (kind == "cpu" ? " (1m or 1)" : " (1, 1k, 1Ki, 1M, 1Mi, 1G, 1Gi, ...)"));
  Json resources = resources_json.empty() ? Json::object() : Json::parse(resources_json, nullptr, false);
  if (!resources.is_object()) resources = Json::object();
  auto limit = quantity_at(resources.value("limits", Json::object()), kind, "resources.limits." + kind);
  if (!limit) return limit.status();
  auto request = quantity_at(resources.value("requests", Json::object()), kind, "resources.requests." + kind);
  if (!request) return request.status();
  double value = 0;
  if (side == "limits") value = *limit >= 0 ? *limit : capacity(kind);
  else value = *request >= 0 ? *request : *limit >= 0 ? *limit : 0;
  // As the kubelet: cpu in whole millicores, bytes as whole bytes, each rounded up first.
  double n = kind == "cpu" ? std::ceil(std::ceil(value * 1000 - 1e-9) / std::round(*divisor * 1000) - 1e-9)
                           : std::ceil(std::ceil(value - 1e-9) / *divisor - 1e-9);
  return std::to_string(static_cast<long long>(n));
}

}  // namespace skiff::runtime
