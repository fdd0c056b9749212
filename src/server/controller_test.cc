// The controller loop with controllers that count their ticks: it ticks at start, on a
// poke and at a controller's next wake-up, and otherwise sleeps.
#include "server/controller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace skiff::server {
namespace {

class WallClock final : public engine::Clock {
 public:
  int64_t now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class Counting final : public Controller {
 public:
  explicit Counting(const engine::Clock& clock) : clock_(clock) {}
  void tick() override { ++ticks; }
  int64_t next_wakeup_ms() const override { return wake_in_ms < 0 ? -1 : clock_.now_ms() + wake_in_ms; }
  std::atomic<int> ticks{0};
  std::atomic<int64_t> wake_in_ms{-1};

 private:
  const engine::Clock& clock_;
};

// Waits (up to 10 s, as a test must end) until `c` ticked `n` times.
bool ticked(const Counting& c, int n) {
  for (int i = 0; i < 1000 && c.ticks < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return c.ticks >= n;
}

TEST(ControllerLoopTest, TicksAtStartAndOnEveryPokeAndSleepsOtherwise) {
  WallClock clock;
  Counting a(clock), b(clock);
  ControllerLoop loop(clock);
  loop.add(&a);
  loop.add(&b);
  loop.start();
  ASSERT_TRUE(ticked(a, 1));
  ASSERT_TRUE(ticked(b, 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(a.ticks, 1);  // nothing due, nobody poked: asleep (a busy loop makes thousands)
  loop.poke();
  EXPECT_TRUE(ticked(a, 2));
  EXPECT_TRUE(ticked(b, 2));
  loop.stop();
  loop.join();
}

TEST(ControllerLoopTest, WakesAtTheEarliestNextWakeup) {
  WallClock clock;
  Counting idle(clock), soon(clock);
  soon.wake_in_ms = 20;
  ControllerLoop loop(clock);
  loop.add(&idle);
  loop.add(&soon);
  loop.start();
  EXPECT_TRUE(ticked(soon, 5));
  EXPECT_GE(idle.ticks, 4);  // one loop ticks every controller
  soon.wake_in_ms = -1;
}

}  // namespace
}  // namespace skiff::server
