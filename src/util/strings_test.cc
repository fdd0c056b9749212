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

TEST(Strings, ParsesIntegersAsGoDoes) {
  int64_t v = 0;
  EXPECT_TRUE(parse_go_int64("42", &v));
  EXPECT_EQ(v, 42);
  EXPECT_TRUE(parse_go_int64("+3", &v));
  EXPECT_EQ(v, 3);
  EXPECT_TRUE(parse_go_int64("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_TRUE(parse_go_int64("007", &v));
  EXPECT_EQ(v, 7);
  for (const char* bad : {"", "-", "+", "+-1", "--1", "1.0", " 1", "1 ", "0x10", "1_000", "9223372036854775808"}) {
    EXPECT_FALSE(parse_go_int64(bad, &v)) << bad;
  }
}

}  // namespace skiff
