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
  std::string line = "skiff: " + std::string(text) + "\n";
  write_log(line);
}

void StepOutput::write_log(std::string_view data) {
  if (!log_.valid() && !log_failed_) {
    log_.reset(::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    log_failed_ = !log_.valid();
  }
  if (log_.valid()) {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(log_.get(), data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        log_.reset();  // disk full or similar: keep the step running, stop logging
        log_failed_ = true;
        break;
      }
      done += static_cast<size_t>(n);
    }
  }
}

void StepOutput::add(Stream stream, std::string_view data) {
  write_log(data);
  if (stream == Stream::kStdout && stdout_.size() < max_stdout_) {
    size_t take = std::min(data.size(), max_stdout_ - stdout_.size());
    stdout_.append(data.substr(0, take));
    if (take < data.size()) stdout_truncated_ = true;
  } else if (stream == Stream::kStdout && !data.empty()) {
    stdout_truncated_ = true;
  }
  if (!sink_ || !*sink_) return;
  std::string& partial = partial_[static_cast<int>(stream)];
  while (!data.empty()) {
    size_t nl = data.find('\n');
    if (nl == std::string_view::npos) {
      partial.append(data);
      if (partial.size() >= kMaxLine) {
        emit(stream, partial);
        partial.clear();
      }
      return;
    }
    if (partial.empty()) {
      emit(stream, data.substr(0, nl));
    } else {
      partial.append(data.substr(0, nl));
      emit(stream, partial);
      partial.clear();
    }
    data.remove_prefix(nl + 1);
  }
}

void StepOutput::emit(Stream stream, std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  (*sink_)(node_id_, stream, line);
}

void StepOutput::finish() {
  if (!sink_ || !*sink_) return;
  for (int s = 0; s < 2; ++s) {
    if (!partial_[s].empty()) emit(static_cast<Stream>(s), partial_[s]);
    partial_[s].clear();
  }
}

}  // namespace skiff::runtime
