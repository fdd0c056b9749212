#include "runtime/step_plan.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime/volumes.h"

namespace skiff::runtime {
namespace {

TEST(ExpandVars, KubernetesRules) {
  std::vector<std::pair<std::string, std::string>> vars = {{"A", "1"}, {"B", "two"}};
  EXPECT_EQ(expand_vars("$(A)-$(B)", vars), "1-two");
  EXPECT_EQ(expand_vars("$(C)", vars), "$(C)");
  EXPECT_EQ(expand_vars("$$(A)", vars), "$(A)");
  EXPECT_EQ(expand_vars("cost $5 $", vars), "cost $5 $");
  EXPECT_EQ(expand_vars("$(A", vars), "$(A");
}

TEST(CleanAbsolutePath, NormalisesAndRejects) {
  EXPECT_EQ(*clean_absolute_path("/a//b/./c/"), "/a/b/c");
  EXPECT_EQ(*clean_absolute_path("/"), "/");
  EXPECT_FALSE(clean_absolute_path("a/b"));
  EXPECT_FALSE(clean_absolute_path("/a/../b"));
  EXPECT_FALSE(clean_absolute_path(""));
}

TEST(HostPath, LongestMountWins) {
  std::vector<BindMount> mounts = {{"/host/work", "/work", false, false}, {"/host/cache", "/work/cache", false, false}};
  EXPECT_EQ(host_path(mounts, "/run/tmp", "/work/a"), "/host/work/a");
  EXPECT_EQ(host_path(mounts, "/run/tmp", "/work/cache/x"), "/host/cache/x");
  EXPECT_EQ(host_path(mounts, "/run/tmp", "/workspace"), "/workspace");
  EXPECT_EQ(host_path(mounts, "/run/tmp", "/tmp/out"), "/run/tmp/out");
  EXPECT_EQ(host_path(mounts, "/run/tmp", "/tmpfoo"), "/tmpfoo");
}

TEST(CanonicalPaths, OutermostOnceWithoutLinks) {
  // "/srv/a-b" sorts between "/srv/a" and "/srv/a/c": the nested one must still go.
  EXPECT_EQ(canonical_paths({"/nonexistent-skiff/a/c", "/nonexistent-skiff/a-b", "/nonexistent-skiff/a/",
                             "/nonexistent-skiff/a", ""}),
            (std::vector<std::string>{"/nonexistent-skiff/a", "/nonexistent-skiff/a-b"}));
  char tmpl[] = "/tmp/skiff-canonical-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  ASSERT_EQ(::symlink(dir.c_str(), (dir + "-link").c_str()), 0);
  EXPECT_EQ(canonical_paths({dir + "-link/data/x"}), std::vector<std::string>{dir + "/data/x"});
  ::unlink((dir + "-link").c_str());
  ::rmdir(dir.c_str());
}

TEST(LocateInMounts, DeepestMountHoldsThePath) {
  std::vector<BindMount> mounts = {{"/host/work", "/work", false, false},
                                   {"/host/cache", "/work/cache", false, false},
                                   {"/host/secrets/token", "/etc/token", true, true}};
  using Place = std::pair<std::string, std::string>;
  EXPECT_EQ(locate_in_mounts(mounts, "/work/a"), (Place{"/host/work", "/a"}));
  EXPECT_EQ(locate_in_mounts(mounts, "/work/cache/x"), (Place{"/host/cache", "/x"}));
  EXPECT_EQ(locate_in_mounts(mounts, "/etc/token"), (Place{"/host/secrets", "/token"}));
  EXPECT_EQ(locate_in_mounts(mounts, "/workspace"), (Place{"", "/workspace"}));
}

TEST(FileNameFor, MakesSafeNames) {
  EXPECT_EQ(file_name_for("wf-123"), "wf-123");
  EXPECT_EQ(file_name_for("../etc/passwd"), "_.._etc_passwd");
  EXPECT_EQ(file_name_for("a b/c"), "a_b_c");
  EXPECT_EQ(file_name_for(""), "_");
}

}  // namespace
}  // namespace skiff::runtime
