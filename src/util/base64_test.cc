#include "util/base64.h"

#include <gtest/gtest.h>

namespace skiff {

TEST(Base64, RoundTripsEveryLengthAndByte) {
  std::string raw;
  for (int i = 0; i < 300; ++i) {
    auto back = base64_decode(base64_encode(raw));
    ASSERT_TRUE(back.is_ok());
    EXPECT_EQ(*back, raw);
    raw.push_back(static_cast<char>(i * 37));
  }
  EXPECT_EQ(base64_encode("user:pass"), "dXNlcjpwYXNz");
  EXPECT_EQ(base64_encode("ab"), "YWI=");
}

TEST(Base64, AcceptsUnpaddedAndWrappedRefusesGarbage) {
  EXPECT_EQ(*base64_decode("YWI"), "ab");
  EXPECT_EQ(*base64_decode("dXNl\ncjpw\nYXNz\n"), "user:pass");
  EXPECT_FALSE(base64_decode("a$bc").is_ok());
  EXPECT_FALSE(base64_decode("YW=I").is_ok());
  EXPECT_FALSE(base64_decode("Y").is_ok());
}

}  // namespace skiff
