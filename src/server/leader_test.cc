// LeaderElection against a real PostgreSQL (SKIFF_TEST_POSTGRES, or SKIFF_TEST_POSTGRES_FILE
// naming a file with its URL; ctest's leader-postgres starts one); skipped without one.
#include "server/leader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

namespace skiff::server {
namespace {

std::string postgres_url() {
  std::string url;
  if (const char* pg = std::getenv("SKIFF_TEST_POSTGRES")) url = pg;
  if (const char* file = std::getenv("SKIFF_TEST_POSTGRES_FILE"); file && url.empty()) {
    std::ifstream in(file);
    std::getline(in, url);
  }
  return url;
}

TEST(LeaderElection, OneLeadsUntilItsSessionEndsThenAnotherTakesOver) {
  std::string url = postgres_url();
  if (url.empty()) GTEST_SKIP() << "no PostgreSQL for this run (ctest -R leader-postgres starts one)";
  auto a = postgres_election(url);
  auto b = postgres_election(url);
  ASSERT_TRUE(a.is_ok()) << a.status().message();
  ASSERT_TRUE(b.is_ok()) << b.status().message();

  auto won = (*a)->try_acquire();
  ASSERT_TRUE(won.is_ok()) << won.status().message();
  EXPECT_TRUE(*won);
  EXPECT_TRUE(*(*a)->try_acquire());  // asking again while leading is harmless
  EXPECT_TRUE(*(*a)->holds());
  EXPECT_FALSE(*(*b)->try_acquire());
  EXPECT_FALSE(*(*b)->holds());

  ASSERT_TRUE((*a)->advertise("http://127.0.0.1:1111").is_ok());
  EXPECT_EQ(*(*b)->leader_url(), "http://127.0.0.1:1111");

  a->reset();  // its connection closes, as a killed leader's does: the lock is free once
               // PostgreSQL has seen the session end (a moment: b tries again, as followers do)
  auto took = (*b)->try_acquire();
  for (int i = 0; i < 100 && took.is_ok() && !*took; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    took = (*b)->try_acquire();
  }
  ASSERT_TRUE(took.is_ok()) << took.status().message();
  EXPECT_TRUE(*took);
  EXPECT_TRUE(*(*b)->holds());
  ASSERT_TRUE((*b)->advertise("http://127.0.0.1:2222").is_ok());
  EXPECT_EQ(*(*b)->leader_url(), "http://127.0.0.1:2222");
  b->reset();
}

TEST(LeaderElection, AnUnreachableDatabaseIsAnError) {
  auto e = postgres_election("postgresql://skiff@127.0.0.1:1/none?connect_timeout=2");
  ASSERT_FALSE(e.is_ok());
  EXPECT_NE(e.status().message().find("leader election"), std::string::npos) << e.status().message();
}

}  // namespace
}  // namespace skiff::server
