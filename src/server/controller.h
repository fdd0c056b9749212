// Controller: something the server keeps doing in the background over stored objects —
// cron (CronWorkflows come due), TTL (finished workflows expire), and next Applications and
// resource waits. A controller decides on its own what is due; the loop only asks it when.
//
// ControllerLoop: the one thread that hosts them. Each turn it ticks every controller, then
// sleeps until the earliest next_wakeup_ms() any of them gave, or until poke() (an object a
// controller watches changed through the API, the runner finished a workflow with a
// ttlStrategy) or stop(). Controllers are ticked on that thread only, one after another, so
// they need no locks of their own against each other; what they write goes through the
// store's compare-and-swap like any other writer's.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/operator.h"

namespace skiff::server {

class Controller {
 public:
  virtual ~Controller() = default;
  // Does whatever is due now (on the loop's thread).
  virtual void tick() = 0;
  // When it next has something to do, in epoch ms on the loop's clock; -1: not until poked.
  // Asked right after tick(), on the same thread.
  virtual int64_t next_wakeup_ms() const = 0;
};

class ControllerLoop {
 public:
  explicit ControllerLoop(const engine::Clock& clock) : clock_(clock) {}
  ~ControllerLoop();  // stops and joins

  // Before start(); the loop does not own them, and they must outlive it.
  void add(Controller* controller) { controllers_.push_back(controller); }
  void start();
  // Any thread: tick every controller soon (once, however many pokes came meanwhile).
  void poke();
  // Any thread: the loop ends after the tick under way; join() waits for that.
  void stop();
  void join();

  // The longest sleep, so that a wall clock set forward is noticed within it.
  static constexpr int64_t kMaxSleepMs = 60'000;

 private:
  void run();

  const engine::Clock& clock_;
  std::vector<Controller*> controllers_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool poked_ = false, stopping_ = false;
  std::thread thread_;
};

}  // namespace skiff::server
