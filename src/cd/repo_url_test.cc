#include "cd/repo_url.h"

#include <gtest/gtest.h>

namespace skiff::cd {
namespace {

TEST(RepoUrlTest, NormalisesSchemeHostCaseGitSuffixAndSlashes) {
  EXPECT_EQ(normalize_repo_url("https://GitHub.com/Org/Repo.git/"), "github.com/Org/Repo");
  EXPECT_EQ(normalize_repo_url("https://github.com/Org/Repo"), "github.com/Org/Repo");
  EXPECT_EQ(normalize_repo_url("http://github.com/Org/Repo/"), "github.com/Org/Repo");
  EXPECT_EQ(normalize_repo_url("  https://github.com/Org/Repo.git  "), "github.com/Org/Repo");
}

TEST(RepoUrlTest, SshAndScpLikeUrlsMatchHttps) {
  EXPECT_EQ(normalize_repo_url("git@github.com:Org/Repo.git"), "github.com/Org/Repo");
  EXPECT_EQ(normalize_repo_url("ssh://git@GITHUB.com/Org/Repo.git"), "github.com/Org/Repo");
  EXPECT_EQ(normalize_repo_url("ssh://git@host:2222/x/y"), "host/x/y");
  EXPECT_TRUE(same_repo("git@github.com:org/repo.git", "https://github.com/org/repo"));
  EXPECT_TRUE(same_repo("https://user:token@gitlab.example.com:8443/g/p.git", "https://gitlab.example.com/g/p"));
}

TEST(RepoUrlTest, LocalPathsAndFileUrls) {
  EXPECT_EQ(normalize_repo_url("file:///srv/git/repo.git"), "/srv/git/repo");
  EXPECT_EQ(normalize_repo_url("/srv/git/repo.git/"), "/srv/git/repo");
  EXPECT_TRUE(same_repo("file:///srv/git/repo", "/srv/git/repo.git"));
}

TEST(RepoUrlTest, DifferentRepositoriesDiffer) {
  EXPECT_FALSE(same_repo("https://github.com/org/repo", "https://github.com/org/repo2"));
  EXPECT_FALSE(same_repo("https://github.com/org/repo", "https://gitlab.com/org/repo"));
  EXPECT_FALSE(same_repo("https://github.com/org/repo", "https://github.com/other/repo"));
  EXPECT_EQ(normalize_repo_url(""), "");
}

}  // namespace
}  // namespace skiff::cd
