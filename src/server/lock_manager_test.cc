#include "server/lock_manager.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

namespace skiff::server {
namespace {

spec::LockRef mutex(const std::string& name) {
  spec::LockRef r;
  r.namespace_ = "ns";
  r.name = name;
  return r;
}

spec::LockRef semaphore(const std::string& key) {
  spec::LockRef r;
  r.mutex = false;
  r.namespace_ = "ns";
  r.name = "cfg";
  r.key = key;
  return r;
}

LockManager::Request ask(const std::string& holder, std::vector<spec::LockRef> locks, int64_t priority = 0,
                         int64_t created = 0) {
  return {holder, std::move(locks), priority, created};
}

using Kind = LockManager::Answer::Kind;

LockManager manager() {
  return LockManager([](const spec::LockRef& r) -> Result<int64_t> {
    if (r.key == "two") return int64_t{2};
    return not_found("ConfigMap \"cfg\" has no key \"" + r.key + "\"");
  });
}

}  // namespace

TEST(LockManager, MutexGoesToOneThenToTheNextInQueue) {
  LockManager m = manager();
  EXPECT_EQ(m.acquire(ask("ns/a", {mutex("m")})).kind, Kind::kAcquired);
  auto b = m.acquire(ask("ns/b", {mutex("m")}, 0, 2));
  EXPECT_EQ(b.kind, Kind::kWaiting);
  EXPECT_EQ(b.lock, "ns/Mutex/m");
  EXPECT_EQ(b.message, "Waiting for ns/Mutex/m lock. Lock status: 0/1");
  EXPECT_EQ(m.acquire(ask("ns/c", {mutex("m")}, 0, 1)).kind, Kind::kWaiting);  // older than b
  EXPECT_EQ(m.status_json("ns/b"), R"({"mutex":{"waiting":[{"mutex":"ns/Mutex/m","holder":"ns/a"}]}})");
  EXPECT_EQ(m.status_json("ns/a"), R"({"mutex":{"holding":[{"mutex":"ns/Mutex/m","holder":"ns/a"}]}})");
  auto woken = m.release("ns/a");
  ASSERT_EQ(woken.size(), 1u);
  EXPECT_EQ(woken[0].first, "ns/c");
  EXPECT_EQ(woken[0].second.kind, Kind::kAcquired);
  EXPECT_EQ(m.status_json("ns/a"), "");
  woken = m.release("ns/c");
  ASSERT_EQ(woken.size(), 1u);
  EXPECT_EQ(woken[0].first, "ns/b");
}

TEST(LockManager, PriorityGoesFirstAndSemaphoresCountTheirLimit) {
  LockManager m = manager();
  EXPECT_EQ(m.acquire(ask("ns/w/1", {semaphore("two")})).kind, Kind::kAcquired);
  EXPECT_EQ(m.acquire(ask("ns/w/2", {semaphore("two")})).kind, Kind::kAcquired);
  auto third = m.acquire(ask("ns/w/3", {semaphore("two")}));
  EXPECT_EQ(third.kind, Kind::kWaiting);
  EXPECT_EQ(third.message, "Waiting for ns/ConfigMap/cfg/two lock. Lock status: 0/2");
  EXPECT_EQ(m.acquire(ask("ns/v/4", {semaphore("two")}, 10)).kind, Kind::kWaiting);
  EXPECT_EQ(m.status_json("ns/w"),
            R"({"semaphore":{"holding":[{"semaphore":"ns/ConfigMap/cfg/two","holders":["ns/w/1","ns/w/2"]}],)"
            R"("waiting":[{"semaphore":"ns/ConfigMap/cfg/two","holders":["ns/w/1","ns/w/2"]}]}})");
  auto woken = m.release("ns/w/1");
  ASSERT_EQ(woken.size(), 1u);
  EXPECT_EQ(woken[0].first, "ns/v/4");  // priority 10 before the older ns/w/3
  auto missing = m.acquire(ask("ns/x", {semaphore("nokey")}));
  EXPECT_EQ(missing.kind, Kind::kFailed);
  EXPECT_EQ(missing.message.rfind("failed to initialize semaphore ns/ConfigMap/cfg/nokey with limit", 0), 0u);
}

TEST(LockManager, AllOrNothingAndAWorkflowsEndFreesEverything) {
  LockManager m = manager();
  EXPECT_EQ(m.acquire(ask("ns/a/n1", {mutex("x")})).kind, Kind::kAcquired);
  EXPECT_EQ(m.acquire(ask("ns/b", {mutex("y"), mutex("x")})).kind, Kind::kWaiting);
  // y is free, but b is ahead in its queue: c waits too (Argo's documented behaviour).
  EXPECT_EQ(m.acquire(ask("ns/c", {mutex("y")}, 0, 1)).kind, Kind::kWaiting);
  auto woken = m.release_workflow("ns/a");
  ASSERT_EQ(woken.size(), 1u);
  EXPECT_EQ(woken[0].first, "ns/b");
  EXPECT_EQ(woken[0].second.kind, Kind::kAcquired);
  woken = m.release("ns/b");
  ASSERT_EQ(woken.size(), 1u);
  EXPECT_EQ(woken[0].first, "ns/c");
}

TEST(LockManager, RestoredHoldersKeepTheirLocks) {
  LockManager m = manager();
  m.restore("ns/a", R"({"mutex":{"holding":[{"mutex":"ns/Mutex/m","holder":"ns/a/n1"}]}})");
  EXPECT_EQ(m.acquire(ask("ns/b", {mutex("m")})).kind, Kind::kWaiting);
  EXPECT_EQ(m.acquire(ask("ns/a/n1", {mutex("m")})).kind, Kind::kAcquired);
  auto woken = m.release("ns/a/n1");
  ASSERT_EQ(woken.size(), 1u);
  EXPECT_EQ(woken[0].first, "ns/b");
}

// A loop of 20,000 nodes over one mutex: each release hands it to the next at a cost that
// does not grow with the queue (the whole run takes well under a second).
TEST(LockManager, ALongQueueCostsLittlePerRelease) {
  LockManager m = manager();
  const int n = 20000;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) m.acquire(ask("ns/w/" + std::to_string(i), {mutex("m")}, 0, 0));
  std::string holder = "ns/w/0";
  for (int i = 1; i < n; ++i) {
    auto woken = m.release(holder);
    ASSERT_EQ(woken.size(), 1u);
    ASSERT_EQ(woken[0].second.kind, Kind::kAcquired);
    holder = woken[0].first;
    ASSERT_EQ(holder, "ns/w/" + std::to_string(i));  // first come, first served
    for (const auto& w : m.take_changed()) m.status_json(w);
  }
  EXPECT_TRUE(m.release(holder).empty());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("20,000 holders through one mutex: %.3f s\n", secs);
  EXPECT_LT(secs, 5.0);
}

}  // namespace skiff::server
