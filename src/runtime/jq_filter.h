// STUB (lead's, replaced by h-cond's)
#pragma once
#include <string>
#include "util/status.h"
namespace skiff::runtime {
Result<std::string> jq_filter(const std::string& filter, const std::string& json_text, int timeout_ms = 10000,
                              size_t max_output = 256 * 1024);
}
