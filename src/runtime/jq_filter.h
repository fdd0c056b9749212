// jq_filter: a `resource` step's outputs.parameters[].valueFrom.jqFilter, run as Argo's
// executor runs it: `kubectl get ... -o json | jq -rc FILTER` (Argo v4 runs gojq inside
// its executor, printing the same text).
//
// jq runs as a program (the Debian package `jq`, 1.6), not through libjq: a filter is code
// ("def f: f; f", "range(1e18)", "repeat(.)") that may loop or allocate forever, and a
// child process can be killed at a deadline and its memory given back, while a library
// call in one of the server's threads could only be waited for. The filter is passed as
// one argument, never through a shell. Blocks the calling thread; any thread.
#pragma once

#include <cstddef>
#include <string>

#include "util/status.h"

namespace skiff::runtime {

// jq's stdout for `filter` over `json_text`, with the final newline removed: strings raw,
// other values as compact JSON, one result per line. Errors carry jq's stderr:
//   kFailed       jq refused the filter or failed on this input (exit status and message)
//   kDeadline     it ran longer than `timeout_ms` (it is killed)
//   kFailed       it printed more than `max_output` bytes (it is killed)
//   kUnavailable  jq is not installed
Result<std::string> jq_filter(const std::string& filter, const std::string& json_text, int timeout_ms = 10000,
                              size_t max_output = 256 * 1024);

}  // namespace skiff::runtime
