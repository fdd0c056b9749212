#include "server/client_limits.h"

#include <gtest/gtest.h>

#include <vector>

namespace skiff::server {

TEST(ClientLimits, EachClientHasItsOwnShare) {
  ClientLimits limits(2, 1);
  auto a1 = limits.connect("10.0.0.1"), a2 = limits.connect("10.0.0.1");
  EXPECT_TRUE(a1 && a2);
  EXPECT_FALSE(limits.connect("10.0.0.1"));
  EXPECT_TRUE(limits.connect("10.0.0.2"));  // another client is not affected
  auto s = limits.open_stream("10.0.0.1");
  EXPECT_TRUE(s);
  EXPECT_FALSE(limits.open_stream("10.0.0.1"));
  EXPECT_EQ(limits.connections(), 2u);  // the one for 10.0.0.2 was dropped at once
  EXPECT_EQ(limits.streams(), 1u);
}

TEST(ClientLimits, ASlotCountsUntilReleasedOrGone) {
  ClientLimits limits(1, 1);
  {
    auto s = limits.open_stream("c");
    ClientLimits::Slot moved = std::move(s);
    EXPECT_FALSE(s);
    EXPECT_FALSE(limits.open_stream("c"));
    moved.release();
    EXPECT_EQ(limits.streams(), 0u);
    moved = limits.open_stream("c");
    EXPECT_TRUE(moved);
  }
  EXPECT_EQ(limits.streams(), 0u);
  std::vector<ClientLimits::Slot> many;
  for (int i = 0; i < 100; ++i) many.push_back(limits.connect("client-" + std::to_string(i)));
  EXPECT_EQ(limits.connections(), 100u);
  many.clear();
  EXPECT_EQ(limits.connections(), 0u);
}

}  // namespace skiff::server
