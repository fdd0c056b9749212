#include "runtime/step_output.h"

#include <fcntl.h>

#include <errno.h>
#include <unistd.h>

namespace skiff::runtime {

bool StepOutput::read_from(Stream stream, int fd, size_t budget) {
  char buf[65536];
  size_t total = 0;
  while (total < budget) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      add(stream, std::string_view(buf, static_cast<size_t>(n)));
      total += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
  return true;
}

void StepOutput::note(std::string_view text) {
  std::string line = (ends_line_ ? "skiff: " : "\nskiff: ") + std::string(text) + "\n";
  write_log(line);
}

// A full disk loses what is written meanwhile, not the rest: every later write tries
// again, and the first that succeeds says how much was lost.
void StepOutput::write_log(std::string_view data) {
  if (!data.empty()) ends_line_ = data.back() == '\n';
  if (!log_.valid()) {
    // The first open starts the file afresh (a log left by an earlier run of the node).
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (opened_ ? O_APPEND : O_TRUNC);
    log_.reset(::open(log_path_.c_str(), flags, 0600));
    if (!log_.valid()) {
      dropped_ += data.size();
      return;
    }
    opened_ = true;
  }
  if (dropped_ > 0) {
    std::string lost = "\nskiff: " + std::to_string(dropped_) + " bytes of output lost: the log could not be written\n";
    dropped_ = 0;
    write_all(lost);
  }
  write_all(data);
}

void StepOutput::write_all(std::string_view data) {
  while (!data.empty() && log_.valid()) {
    ssize_t n = ::write(log_.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      log_.reset();
      dropped_ += data.size();
      return;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

std::string StepOutput::tail() const {
  return tail_.size() > kTailBytes ? tail_.substr(tail_.size() - kTailBytes) : tail_;
}

void StepOutput::add(Stream stream, std::string_view data) {
  if (data.size() >= kTailBytes) {
    tail_.assign(data.substr(data.size() - kTailBytes));
  } else {
    tail_.append(data);
    if (tail_.size() > 2 * kTailBytes) tail_.erase(0, tail_.size() - kTailBytes);
  }
  if (max_log_ == 0 || logged_ + data.size() <= max_log_) {
    write_log(data);
    logged_ += data.size();
  } else if (!log_capped_) {
    write_log(data.substr(0, max_log_ - logged_));
    logged_ = max_log_;
    log_capped_ = true;
    note("log truncated: the step wrote more than " + std::to_string(max_log_) +
         " bytes; the rest is not kept (skiff server --max-log-bytes)");
  }
  if (stream == Stream::kStdout && stdout_.size() < max_stdout_) {
    size_t take = std::min(data.size(), max_stdout_ - stdout_.size());
    stdout_.append(data.substr(0, take));
    if (take < data.size()) stdout_truncated_ = true;
  } else if (stream == Stream::kStdout && !data.empty()) {
    stdout_truncated_ = true;
  }
}

}  // namespace skiff::runtime
