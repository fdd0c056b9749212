// StepOutput: collects what one step writes to stdout and stderr.
//
// Every chunk goes to the step's combined log file as it arrives (the file is created on
// the first byte: most steps of a big DAG print nothing); complete lines go to the
// LogSink (a line longer than kMaxLine is passed on in pieces); stdout is also kept in
// memory up to a cap for outputs.result. Owned by the executor's loop, single-threaded.
#pragma once

#include <string>
#include <string_view>

#include "runtime/executor.h"
#include "runtime/fd.h"

namespace skiff::runtime {

class StepOutput {
 public:
  static constexpr size_t kMaxLine = 64 * 1024;

  StepOutput(std::string node_id, std::string log_path, size_t max_stdout, const LogSink* sink)
      : node_id_(std::move(node_id)), log_path_(std::move(log_path)), max_stdout_(max_stdout), sink_(sink) {}

  // Reads what `fd` has now (at most `budget` bytes). Returns false at end of stream or on
  // error, when the caller should close it.
  bool read_from(Stream stream, int fd, size_t budget = 1 << 20);
  // Passes on unfinished last lines; call once when the step is done.
  void finish();
  // Appends a line from skiff itself ("skiff: <text>") to the log file only.
  void note(std::string_view text);

  std::string take_stdout() { return std::move(stdout_); }
  bool stdout_truncated() const { return stdout_truncated_; }

 private:
  void add(Stream stream, std::string_view data);
  void write_log(std::string_view data);
  void emit(Stream stream, std::string_view line);

  std::string node_id_;
  std::string log_path_;  // opened on first write
  Fd log_;
  bool log_failed_ = false;
  size_t max_stdout_;
  const LogSink* sink_;
  std::string stdout_;
  bool stdout_truncated_ = false;
  std::string partial_[2];  // by Stream
};

}  // namespace skiff::runtime
