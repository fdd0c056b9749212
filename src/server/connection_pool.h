// ConnectionPool: the task queue cpp-httplib hands each accepted connection to (as one
// task that serves it until it closes), giving every connection a thread of its own.
//
// cpp-httplib's own ThreadPool has a fixed number of workers, and a connection keeps its
// worker for as long as it lasts: a few dozen open streams, idle keep-alive connections or
// slow TLS handshakes took every worker and the server stopped answering. Here threads are
// made as connections arrive, up to `max_threads`; one that finishes waits a few seconds
// for another connection before it ends. Beyond max_threads connections wait their turn.
//
// Threads have the default stack size (8 MiB of address space, of which only the pages
// touched cost memory): requests are matched with std::regex, which recurses per
// character, and an 8 KiB path needs 2-4 MiB. Connection threads block SIGPIPE, so a
// write to a client that went away fails with EPIPE instead of ending the server.
//
// Thread-safe: cpp-httplib's listening thread enqueues; shutdown() runs `on_shutdown`
// (which must make running tasks end soon) and waits for every thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <httplib.h>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace skiff::server {

class ConnectionPool : public httplib::TaskQueue {
 public:
  ConnectionPool(size_t max_threads, std::function<void()> on_shutdown, int linger_ms = 5000);
  ~ConnectionPool() override;

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

  size_t threads() const;  // alive now, busy or lingering

 private:
  void work(std::function<void()> task);
  void reap_locked();

  const size_t max_threads_;
  const std::function<void()> on_shutdown_;
  const int linger_ms_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  std::map<std::thread::id, std::thread> threads_;
  std::vector<std::thread::id> ended_;  // threads that returned, to join
  size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace skiff::server
