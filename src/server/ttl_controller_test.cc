// The TTL controller with a hand-moved clock over a real SQLite store.
#include "server/ttl_controller.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

namespace skiff::server {
namespace {

class FakeClock final : public engine::Clock {
 public:
  int64_t now_ms() const override { return now; }
  int64_t now = 1'798'761'600'000;
};

TEST(TtlControllerTest, DeletesEachWorkflowWhenDueAndWakesForTheNext) {
  auto dir = std::filesystem::temp_directory_path() / ("skiff-ttl-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto store = store::Store::open("sqlite:" + (dir / "db").string());
  ASSERT_TRUE(store.is_ok()) << store.status().message();
  FakeClock clock;
  std::vector<std::string> removed;
  TtlController ttl(**store, clock, [&](const std::string& ns, const std::string& name) {
    removed.push_back(ns + "/" + name);
    return Status::ok();
  });
  ttl.tick();  // reads the store's finished workflows: none
  EXPECT_EQ(ttl.next_wakeup_ms(), -1);
  int64_t t0 = clock.now;
  ttl.add("argo", "late", t0 + 5000);
  ttl.add("argo", "early", t0 + 1000);
  EXPECT_EQ(ttl.next_wakeup_ms(), t0 + 1000);
  clock.now = t0 + 1000;
  ttl.tick();
  EXPECT_EQ(removed, std::vector<std::string>{"argo/early"});
  EXPECT_EQ(ttl.next_wakeup_ms(), t0 + 5000);
  clock.now = t0 + 9000;
  ttl.tick();
  EXPECT_EQ(removed, (std::vector<std::string>{"argo/early", "argo/late"}));
  EXPECT_EQ(ttl.next_wakeup_ms(), -1);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace skiff::server
