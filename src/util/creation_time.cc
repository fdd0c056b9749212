#include "util/creation_time.h"

#include <ctime>

namespace skiff {

std::map<std::string, std::string> creation_time_variables(int64_t ms) {
  const std::string base = "workflow.creationTimestamp";
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm t{};
  gmtime_r(&secs, &t);
  auto format = [&t](const char* f) {
    char out[64];
    return std::string(out, std::strftime(out, sizeof out, f, &t));
  };
  std::string rfc3339 = format("%Y-%m-%dT%H:%M:%SZ");
  std::map<std::string, std::string> vars = {
      {base, rfc3339}, {base + ".RFC3339", rfc3339}, {base + ".s", std::to_string(secs)}};
  for (char c : std::string("AaBbCcDdeFHIjklMmnpRrSTtUuVvWwXxYyZz")) {
    const char f[3] = {'%', c, 0};
    vars[base + "." + c] = c == 'Z' ? "UTC" : format(f);  // Go's zone name, not glibc's "GMT"
  }
  return vars;
}

}  // namespace skiff
