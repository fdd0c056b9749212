#include "util/strings.h"

#include <gtest/gtest.h>

namespace skiff {

TEST(Strings, NearestSuggestsCloseField) {
  EXPECT_EQ(nearest("contaner", {"container", "script", "dag"}), "container");
  EXPECT_EQ(nearest("zzzzzz", {"container", "script", "dag"}), "");
}

TEST(Strings, ParsesGoDurations) {
  EXPECT_EQ(parse_duration_ms("90s"), 90000);
  EXPECT_EQ(parse_duration_ms("1m30s"), 90000);
  EXPECT_EQ(parse_duration_ms("500ms"), 500);
  EXPECT_EQ(parse_duration_ms("2"), 2000);
  EXPECT_EQ(parse_duration_ms("2x"), -1);
  EXPECT_EQ(parse_duration_ms(""), -1);
}

}  // namespace skiff
