// StepOutput: collects what one step writes to stdout and stderr.
//
// Every chunk goes to the step's combined log file as it arrives (the file is created on
// the first byte: most steps of a big DAG print nothing), up to a cap after which the rest
// is dropped with a note saying so; stdout is also kept in memory up to a cap for
// outputs.result. The last bytes of both streams are kept too, whatever the log's cap, for
// a termination message read from the log (termination_message.h). Owned by the step's
// supervisor (supervisor.h), single-threaded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/fd.h"

namespace skiff::runtime {

enum class Stream { kStdout, kStderr };  // which pipe a chunk came from

class StepOutput {
 public:
  // `max_log`: bytes of output the log file keeps (0: no cap).
  StepOutput(std::string log_path, size_t max_stdout, size_t max_log)
      : log_path_(std::move(log_path)), max_stdout_(max_stdout), max_log_(max_log) {}

  // Reads what `fd` has now (at most `budget` bytes). Returns false at end of stream or on
  // error, when the caller should close it.
  bool read_from(Stream stream, int fd, size_t budget = 1 << 20);
  // Appends a line from skiff itself ("skiff: <text>") to the log file only.
  void note(std::string_view text);

  // Closes the log file (a later note opens it again, appending).
  void close() { log_.reset(); }

  std::string take_stdout() { return std::move(stdout_); }
  // The last kTailBytes (or fewer) bytes the step wrote to either stream.
  std::string tail() const;
  static constexpr size_t kTailBytes = 2048;
  bool stdout_truncated() const { return stdout_truncated_; }

 private:
  void add(Stream stream, std::string_view data);
  void write_log(std::string_view data);
  void write_all(std::string_view data);

  std::string log_path_;  // opened on first write
  Fd log_;
  uint64_t dropped_ = 0;  // bytes not written (disk full), told once writing works again
  bool opened_ = false;
  bool ends_line_ = true;  // what was written last ends a line
  size_t max_stdout_;
  size_t max_log_;
  size_t logged_ = 0;  // bytes of the step's output written to the log
  bool log_capped_ = false;
  std::string stdout_;
  bool stdout_truncated_ = false;
  std::string tail_;  // grows to twice kTailBytes before it is cut back
};

}  // namespace skiff::runtime
