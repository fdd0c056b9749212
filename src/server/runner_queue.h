// RunnerQueue: work for the one thread that owns a Runner, from any other thread — the
// server's HTTP handlers and controllers, and resource steps acting on skiff's own kinds
// (local_objects.h) under `skiff server` and `skiff run` alike.
//
// The owner waits for tasks (wait()) or, while it is busy turning the Runner, lets the
// queue's eventfd (fd(), given to the executor as its interrupt fd) cut its executor wait
// short; then run_pending() runs what came. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include "runtime/fd.h"
#include "util/status.h"

namespace skiff::server {

class Runner;

class RunnerQueue {
 public:
  using Task = std::function<Status(Runner&)>;

  RunnerQueue();
  // Readable while a task waits (or something else rang it: run_pending() reads it empty).
  int fd() const { return fd_.get(); }
  // Runs `task` on the owner's thread and waits for its answer: kUnavailable once closed.
  // Never from the owner's thread (it would wait for itself).
  Status call(Task task);
  // Owner: waits at most `ms` until a task waits or the queue is closed.
  void wait(int ms);
  // Owner: runs the waiting tasks; false once closed (the waiting tasks are refused).
  bool run_pending(Runner& runner);
  // Refuses every waiting and later task.
  void close();
  size_t size() const;

 private:
  using Item = std::function<void(Runner*)>;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Item> items_;
  bool closed_ = false;
  runtime::Fd fd_;
};

}  // namespace skiff::server
