#include "runtime/fd.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace skiff::runtime {
namespace {

mode_t mode_of(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

TEST(PrivateDir, IsCreatedPrivateAndTightenedWhenOpen) {
  std::string root = ::testing::TempDir() + "/skiff-private-" + std::to_string(::getpid());
  std::filesystem::remove_all(root);
  ASSERT_TRUE(make_private_dir(root + "/a/data").is_ok());
  EXPECT_EQ(mode_of(root + "/a/data"), 0700u);

  ASSERT_EQ(::chmod((root + "/a/data").c_str(), 0755), 0);
  ASSERT_TRUE(make_private_dir(root + "/a/data").is_ok());
  EXPECT_EQ(mode_of(root + "/a/data"), 0700u);

  ASSERT_EQ(::chmod((root + "/a").c_str(), 01777), 0);
  Status shared = make_private_dir(root + "/a");
  EXPECT_EQ(shared.code(), Code::kInvalid);
  EXPECT_NE(shared.message().find("writable by everyone"), std::string::npos) << shared.message();
  EXPECT_EQ(mode_of(root + "/a"), 01777u);

  ASSERT_TRUE(write_file(root + "/file", "x", 0600).is_ok());
  EXPECT_FALSE(make_private_dir(root + "/file").is_ok());
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace skiff::runtime
