#include "server/connection_pool.h"

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <system_error>

namespace skiff::server {

ConnectionPool::ConnectionPool(size_t max_threads, std::function<void()> on_shutdown, int linger_ms)
    : max_threads_(max_threads), on_shutdown_(std::move(on_shutdown)), linger_ms_(linger_ms) {}

ConnectionPool::~ConnectionPool() { shutdown(); }

void ConnectionPool::enqueue(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  reap_locked();
  if (idle_ <= queue_.size() && threads_.size() < max_threads_) {
    try {
      std::thread t([this, fn]() mutable { work(std::move(fn)); });
      threads_.emplace(t.get_id(), std::move(t));
      return;
    } catch (const std::system_error&) {
      // No thread to be had (a system limit): the connection waits for one to finish.
    }
  }
  queue_.push_back(std::move(fn));
  wake_.notify_one();
}

void ConnectionPool::work(std::function<void()> task) {
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  for (;;) {
    task();
    task = nullptr;
    std::unique_lock<std::mutex> lock(mu_);
    ++idle_;
    auto more = [this] { return !queue_.empty() || stopping_; };
    wake_.wait_for(lock, std::chrono::milliseconds(linger_ms_), more);
    --idle_;
    if (queue_.empty()) {
      if (!stopping_) ended_.push_back(std::this_thread::get_id());  // else shutdown() joins it
      return;
    }
    task = std::move(queue_.front());
    queue_.pop_front();
  }
}

void ConnectionPool::reap_locked() {
  for (std::thread::id id : ended_) {
    auto it = threads_.find(id);
    if (it == threads_.end()) continue;
    it->second.join();  // it has returned, or is about to
    threads_.erase(it);
  }
  ended_.clear();
}

void ConnectionPool::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (on_shutdown_) on_shutdown_();
  wake_.notify_all();
  std::map<std::thread::id, std::thread> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all.swap(threads_);
    ended_.clear();
  }
  for (auto& [id, t] : all) t.join();
}

size_t ConnectionPool::threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return threads_.size() - ended_.size();
}

}  // namespace skiff::server
