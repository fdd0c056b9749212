// Janitor: removes finished steps' directories on a background thread.
//
// Deleting a step's private /tmp and emptyDirs can take from a fraction of a millisecond to
// seconds (a build tree); doing it on the run loop would delay the next step's start.
// remove() only queues the path; the destructor finishes the queue and joins the thread.
// Other slow clean-up (unmounting a container's rootfs, deleting runc's state) goes
// through run(). Both may be called from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace skiff::runtime {

class Janitor {
 public:
  Janitor() = default;
  Janitor(const Janitor&) = delete;
  Janitor& operator=(const Janitor&) = delete;
  ~Janitor();

  void remove(std::string path);
  void run(std::function<void()> task);
  // Blocks until everything queued so far is gone (tests, shutdown).
  void flush();

 private:
  void loop();

  std::mutex mu_;
  std::condition_variable work_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;  // started on first use
};

}  // namespace skiff::runtime
