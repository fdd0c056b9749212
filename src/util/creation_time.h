// Argo's workflow.creationTimestamp variables, for templates and artifact keyFormat alike.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace skiff {

// "workflow.creationTimestamp" and its forms for a workflow created at `ms` (epoch ms): the
// RFC 3339 text (plain and .RFC3339), .s (Unix seconds), and .<c> for each strftime
// conversion character c, all in UTC.
std::map<std::string, std::string> creation_time_variables(int64_t ms);

}  // namespace skiff
