#include "server/controller.h"

#include <algorithm>
#include <chrono>

namespace skiff::server {

ControllerLoop::~ControllerLoop() {
  stop();
  join();
}

void ControllerLoop::start() {
  thread_ = std::thread([this] { run(); });
}

void ControllerLoop::poke() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    poked_ = true;
  }
  wake_.notify_one();
}

void ControllerLoop::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
}

void ControllerLoop::join() {
  if (thread_.joinable()) thread_.join();
}

void ControllerLoop::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    poked_ = false;
    lock.unlock();
    int64_t next = -1;
    for (Controller* c : controllers_) {
      c->tick();
      int64_t t = c->next_wakeup_ms();
      if (t >= 0 && (next < 0 || t < next)) next = t;
    }
    int64_t sleep_ms = next < 0 ? kMaxSleepMs : std::clamp<int64_t>(next - clock_.now_ms(), 0, kMaxSleepMs);
    lock.lock();
    wake_.wait_for(lock, std::chrono::milliseconds(sleep_ms), [this] { return stopping_ || poked_; });
  }
}

}  // namespace skiff::server
