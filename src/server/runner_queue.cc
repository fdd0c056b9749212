#include "server/runner_queue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <memory>

namespace skiff::server {

namespace {
Status shutting_down() { return Status(Code::kUnavailable, "the server is shutting down"); }
}  // namespace

RunnerQueue::RunnerQueue() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

Status RunnerQueue::call(Task task) {
  auto promise = std::make_shared<std::promise<Status>>();
  auto answer = promise->get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return shutting_down();
    items_.push_back([promise, task = std::move(task)](Runner* r) { promise->set_value(r ? task(*r) : shutting_down()); });
  }
  wake_.notify_one();
  uint64_t one = 1;
  (void)!::write(fd_.get(), &one, sizeof one);
  return answer.get();
}

void RunnerQueue::wait(int ms) {
  std::unique_lock<std::mutex> lock(mu_);
  wake_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return closed_ || !items_.empty(); });
}

bool RunnerQueue::run_pending(Runner& runner) {
  std::deque<Item> batch;
  bool closed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(items_);
    closed = closed_;
    uint64_t n;
    (void)!::read(fd_.get(), &n, sizeof n);
  }
  for (auto& item : batch) item(closed ? nullptr : &runner);
  return !closed;
}

void RunnerQueue::close() {
  std::deque<Item> refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    refused.swap(items_);
  }
  wake_.notify_all();
  for (auto& item : refused) item(nullptr);
}

size_t RunnerQueue::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return items_.size();
}

}  // namespace skiff::server
