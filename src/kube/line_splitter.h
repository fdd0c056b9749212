// LineSplitter: cuts a byte stream (a watch's body, which arrives in pieces of any size)
// into lines, each no longer than a bound. One per stream; one thread.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace skiff::kube {

class LineSplitter {
 public:
  enum class Outcome { kMore, kStopped, kTooLong };

  explicit LineSplitter(size_t max_line) : max_line_(max_line) {}

  // Takes the next bytes and calls `on_line` with each line they complete (without its
  // '\n'; empty lines skipped). kStopped when `on_line` returned false, kTooLong when a
  // line passed max_line bytes (the splitter is then of no further use).
  Outcome feed(std::string_view data, const std::function<bool(std::string_view line)>& on_line);

  // Bytes of an unfinished line.
  size_t pending() const { return partial_.size(); }

 private:
  size_t max_line_;
  std::string partial_;
};

}  // namespace skiff::kube
