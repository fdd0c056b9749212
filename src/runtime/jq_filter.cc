#include "runtime/jq_filter.h"
#include "runtime/program.h"
namespace skiff::runtime {
Result<std::string> jq_filter(const std::string& filter, const std::string& json_text, int, size_t) {
  std::string out;
  int rc = run_program({"/usr/bin/jq", "-r", "-c", filter}, {}, json_text, &out);
  if (rc != 0) return invalid("jq failed");
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}
}
