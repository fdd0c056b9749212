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

TEST(Strings, KubernetesNames) {
  for (const char* ok : {"a", "ns-1", "0x"}) EXPECT_TRUE(dns1123_label(ok)) << ok;
  EXPECT_TRUE(dns1123_label(std::string(63, 'a')));
  for (const char* bad : {"", "-a", "a-", "A", "a.b", "a_b", "é"}) EXPECT_FALSE(dns1123_label(bad)) << bad;
  EXPECT_FALSE(dns1123_label(std::string(64, 'a')));
  for (const char* ok : {"a", "a.b", "my-app.example.com", "1.2"}) EXPECT_TRUE(dns1123_subdomain(ok)) << ok;
  for (const char* bad : {"", ".a", "a.", "a..b", "a.-b", "A.b", "a/b"}) EXPECT_FALSE(dns1123_subdomain(bad)) << bad;
  std::string long_name = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                          std::string(61, 'd');
  EXPECT_TRUE(dns1123_subdomain(long_name));  // 253
  EXPECT_TRUE(dns1123_subdomain(std::string(100, 'a')));  // a part may be longer than a label
  EXPECT_FALSE(dns1123_subdomain(long_name + "d"));
}

}  // namespace skiff
