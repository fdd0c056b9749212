#include "server/tokens.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "runtime/fd.h"

namespace skiff::server {
namespace {

// Tokens made while the server runs (by `skiff token create`, another process) count at
// once, although the server keeps the file it read.
TEST(Tokens, NewTokensCountAtOnceAndOldOnesStay) {
  std::string dir = ::testing::TempDir() + "/skiff-tokens-" + std::to_string(::getpid());
  runtime::remove_tree(dir);
  EXPECT_EQ(check_token(dir, "skiff_" + std::string(64, '0')).status().code(), Code::kNotFound);
  auto first = create_token(dir, {"argo"});
  ASSERT_TRUE(first.is_ok()) << first.status().message();
  auto scope = check_token(dir, *first);
  ASSERT_TRUE(scope.is_ok());
  EXPECT_TRUE(scope->allows("argo"));
  EXPECT_FALSE(scope->allows("other"));
  auto second = create_token(dir, {"*"});
  ASSERT_TRUE(second.is_ok());
  auto all = check_token(dir, *second);
  ASSERT_TRUE(all.is_ok()) << "a token made after the file was read";
  EXPECT_TRUE(all->allows("other"));
  EXPECT_TRUE(all->allows(""));
  EXPECT_TRUE(check_token(dir, *first).is_ok());
  EXPECT_EQ(check_token(dir, "skiff_" + std::string(64, 'f')).status().code(), Code::kNotFound);
  runtime::remove_tree(dir);
}

}  // namespace
}  // namespace skiff::server
