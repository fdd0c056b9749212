#include "server/connection_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace skiff::server {
namespace {

// Tasks that block until released, as connections do until their client goes.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  int started = 0;
  bool open = false;

  std::function<void()> task() {
    return [this] {
      std::unique_lock<std::mutex> lock(mu);
      ++started;
      cv.notify_all();
      cv.wait(lock, [this] { return open; });
    };
  }
  bool wait_started(int n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return started >= n; });
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
};

}  // namespace

TEST(ConnectionPool, EveryConnectionGetsAThread) {
  Gate gate;
  ConnectionPool pool(1000, [&] { gate.release(); });
  for (int i = 0; i < 300; ++i) pool.enqueue(gate.task());  // cpp-httplib's pool had 64 workers
  EXPECT_TRUE(gate.wait_started(300));
  EXPECT_EQ(pool.threads(), 300u);
  pool.shutdown();  // releases the gate (on_shutdown), then joins
  EXPECT_EQ(pool.threads(), 0u);
}

TEST(ConnectionPool, BeyondTheCapConnectionsWaitTheirTurn) {
  Gate gate;
  ConnectionPool pool(2, nullptr);
  for (int i = 0; i < 3; ++i) pool.enqueue(gate.task());
  EXPECT_TRUE(gate.wait_started(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  {
    std::lock_guard<std::mutex> lock(gate.mu);
    EXPECT_EQ(gate.started, 2);
  }
  gate.release();
  EXPECT_TRUE(gate.wait_started(3));
  pool.shutdown();
}

TEST(ConnectionPool, IdleThreadsAreReusedThenEnd) {
  ConnectionPool pool(10, nullptr, 200);
  std::atomic<int> ran{0};
  pool.enqueue([&] { ++ran; });
  while (ran < 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  pool.enqueue([&] { ++ran; });  // taken by the lingering thread
  while (ran < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(pool.threads(), 1u);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pool.threads() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(pool.threads(), 0u);
  pool.enqueue([&] { ++ran; });  // a new thread after the old one ended
  pool.shutdown();
  EXPECT_EQ(ran, 3);
}

}  // namespace skiff::server
