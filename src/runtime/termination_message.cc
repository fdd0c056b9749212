#include "runtime/termination_message.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/fd.h"
#include "runtime/volumes.h"

namespace skiff::runtime {

Result<TerminationMessageSpec> termination_message_spec(const spec::Container& c) {
  TerminationMessageSpec out;
  const std::string& policy = c.termination_message_policy;
  if (!policy.empty() && policy != "File" && policy != "FallbackToLogsOnError") {
    return invalid("terminationMessagePolicy \"" + policy + "\" is not one of File, FallbackToLogsOnError");
  }
  out.fallback_to_logs = policy == "FallbackToLogsOnError";
  auto path = clean_absolute_path(c.termination_message_path.empty() ? kDefaultTerminationMessagePath
                                                                     : c.termination_message_path);
  if (!path) return path.status().with_context("terminationMessagePath");
  if (*path == "/") return invalid("terminationMessagePath must name a file, not /");
  out.path = *path;
  return out;
}

Status make_termination_log(const std::string& host_file) {
  Fd fd(::open(host_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666));
  if (!fd.valid()) return errno_status("creating the termination message file " + host_file, errno);
  // Whatever the umask: the step may run as any user.
  if (::fchmod(fd.get(), 0666) != 0) return errno_status("creating the termination message file " + host_file, errno);
  return Status::ok();
}

Result<std::string> read_termination_log(const std::string& host_file) {
  // O_NONBLOCK: were it a FIFO after all, opening it must not wait for a writer.
  Fd fd(::open(host_file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::string();
    return errno_status("reading the termination message", errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return errno_status("reading the termination message", errno);
  if (!S_ISREG(st.st_mode)) return invalid("reading the termination message: not a regular file");
  off_t size = st.st_size;
  off_t from = size > static_cast<off_t>(kMaxTerminationMessage) ? size - static_cast<off_t>(kMaxTerminationMessage) : 0;
  std::string out(static_cast<size_t>(size - from), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::pread(fd.get(), out.data() + got, out.size() - got, from + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_status("reading the termination message", errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

// Worked example, 2 lines kept of "a\nb\nc\n": the final newline ends "c", so counting
// back from before it, the second newline seen (after "a") starts the kept text "b\nc\n".
std::string log_tail_message(std::string_view tail) {
  size_t scan = tail.size();
  if (scan > 0 && tail[scan - 1] == '\n') --scan;  // the last line's own newline
  size_t start = 0;
  size_t lines = 1;
  for (; scan > 0; --scan) {
    if (tail[scan - 1] != '\n') continue;
    if (lines == kMaxTerminationLogLines) {
      start = scan;
      break;
    }
    ++lines;
  }
  std::string_view kept = tail.substr(start);
  if (kept.size() > kMaxTerminationLogBytes) kept.remove_prefix(kept.size() - kMaxTerminationLogBytes);
  return std::string(kept);
}

}  // namespace skiff::runtime
