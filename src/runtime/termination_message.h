// Termination messages: Kubernetes' terminationMessagePath and terminationMessagePolicy for
// a step's main container, as kubelet keeps them.
//
// Before the step starts, the executor makes an empty file of its own (mode 0666, so any
// user in the step may write it) in the step's scratch directory and binds it at the
// container's terminationMessagePath (default /dev/termination-log). After the exit, the
// supervisor reads that host file, never a path inside the step, so no link the step
// makes can lead the read anywhere else: the last 4096 bytes (kubelet's
// MaxContainerTerminationMessageLength; it keeps the tail too). With the policy
// FallbackToLogsOnError, a step that failed (non-zero exit) leaving the file empty gets
// its log's last 80 lines, at most their last 2048 bytes, instead. The text is kept as
// written (no trimming), as kubelet keeps it.
//
// Where a host step may have the file (host_executor.h): only under /dev or /tmp, its
// private ones, so nothing is made on the machine's own filesystem. Containers may name
// any path but /proc and /sys. Plain functions, no state.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "spec/types.h"
#include "util/status.h"

namespace skiff::runtime {

inline constexpr const char* kDefaultTerminationMessagePath = "/dev/termination-log";
inline constexpr size_t kMaxTerminationMessage = 4096;   // bytes read from the file
inline constexpr size_t kMaxTerminationLogBytes = 2048;  // FallbackToLogsOnError: bytes of log
inline constexpr size_t kMaxTerminationLogLines = 80;    // FallbackToLogsOnError: lines of log

struct TerminationMessageSpec {
  std::string path;  // clean and absolute, inside the step
  bool fallback_to_logs = false;
};

// The container's fields with Kubernetes' defaults, checked once substituted: the path
// absolute without "..", the policy File or FallbackToLogsOnError.
Result<TerminationMessageSpec> termination_message_spec(const spec::Container& c);

// Makes the empty file `host_file` the step's message will be written to.
Status make_termination_log(const std::string& host_file);

// The message in `host_file` after the step exited: its last kMaxTerminationMessage bytes;
// "" when it is absent or empty. A link or anything but a regular file is refused.
Result<std::string> read_termination_log(const std::string& host_file);

// FallbackToLogsOnError's message from `tail`, the last bytes the step wrote (at least
// kMaxTerminationLogBytes of them when it wrote that much): its last 80 lines, at most
// their last 2048 bytes.
std::string log_tail_message(std::string_view tail);

}  // namespace skiff::runtime
